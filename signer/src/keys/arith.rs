//! Conversions between FROST's wrapper types and raw scalars/elements, through their public
//! serializations only (no `internals` feature), plus Lagrange interpolation at zero.

use frost_core::keys::{SigningShare, VerifyingShare};
use frost_core::{Ciphersuite, Element, Field, Group, Identifier, Scalar, VerifyingKey};

use crate::error::{Result, SignerError};

type F<C> = <<C as Ciphersuite>::Group as Group>::Field;

fn decode_scalar<C: Ciphersuite>(bytes: &[u8]) -> Result<Scalar<C>> {
    let ser = <F<C> as Field>::Serialization::try_from(bytes)
        .map_err(|_| SignerError::Frost("scalar has the wrong length".into()))?;
    <F<C>>::deserialize(&ser).map_err(|e| SignerError::Frost(e.to_string()))
}

fn decode_element<C: Ciphersuite>(bytes: &[u8]) -> Result<Element<C>> {
    let ser = <C::Group as Group>::Serialization::try_from(bytes)
        .map_err(|_| SignerError::Frost("element has the wrong length".into()))?;
    C::Group::deserialize(&ser).map_err(|e| SignerError::Frost(e.to_string()))
}

fn encode_element<C: Ciphersuite>(e: &Element<C>) -> Result<Vec<u8>> {
    C::Group::serialize(e)
        .map(|s| s.as_ref().to_vec())
        .map_err(|e| SignerError::Frost(e.to_string()))
}

pub(crate) fn identifier_scalar<C: Ciphersuite>(id: &Identifier<C>) -> Result<Scalar<C>> {
    decode_scalar::<C>(&id.serialize())
}

pub(crate) fn share_scalar<C: Ciphersuite>(s: &SigningShare<C>) -> Result<Scalar<C>> {
    decode_scalar::<C>(&zeroize::Zeroizing::new(s.serialize()))
}

pub(crate) fn scalar_share<C: Ciphersuite>(s: &Scalar<C>) -> Result<SigningShare<C>> {
    SigningShare::deserialize(<F<C>>::serialize(s).as_ref())
        .map_err(|e| SignerError::Frost(e.to_string()))
}

pub(crate) fn vshare_element<C: Ciphersuite>(v: &VerifyingShare<C>) -> Result<Element<C>> {
    decode_element::<C>(
        &v.serialize()
            .map_err(|e| SignerError::Frost(e.to_string()))?,
    )
}

pub(crate) fn vkey_element<C: Ciphersuite>(v: &VerifyingKey<C>) -> Result<Element<C>> {
    decode_element::<C>(
        &v.serialize()
            .map_err(|e| SignerError::Frost(e.to_string()))?,
    )
}

pub(crate) fn element_bytes<C: Ciphersuite>(e: &Element<C>) -> Result<Vec<u8>> {
    encode_element::<C>(e)
}

/// Lagrange coefficient of `i` for interpolating at zero over the points `set`.
pub(crate) fn lagrange_at_zero<C: Ciphersuite>(
    set: &[Identifier<C>],
    i: &Identifier<C>,
) -> Result<Scalar<C>> {
    let xi = identifier_scalar::<C>(i)?;
    let mut num = <F<C>>::one();
    let mut den = <F<C>>::one();
    for j in set.iter().filter(|j| *j != i) {
        let xj = identifier_scalar::<C>(j)?;
        num = num * xj;
        den = den * (xj - xi);
    }
    let inv = <F<C>>::invert(&den).map_err(|e| SignerError::Frost(e.to_string()))?;
    Ok(num * inv)
}

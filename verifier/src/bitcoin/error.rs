//! The typed errors of the Bitcoin layer: each refusal of a PSBT, a signature or an address
//! names the offending input or output index, so a caller can report exactly what was wrong
//! with the transaction it was handed.

/// Why a network name or an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The network name is not one of `bitcoin`, `testnet`, `signet`, `regtest`.
    #[error("unknown network {0:?} (expected bitcoin, testnet, signet or regtest)")]
    UnknownNetwork(String),
    /// The string is not a Bitcoin address of any network.
    #[error("not a Bitcoin address: {0}")]
    Malformed(String),
    /// The address is well formed but belongs to another network.
    #[error("address {address} is not valid on {expected}")]
    WrongNetwork {
        /// The address as given.
        address: String,
        /// The network it was required to belong to.
        expected: String,
    },
}

/// Why a group key could not be turned into a wallet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The group verifying key does not serialize to a 33-byte SEC1 point.
    #[error("group key does not serialize as a compressed point: {0}")]
    GroupKey(String),
    /// The 32 bytes are not the x coordinate of a secp256k1 point.
    #[error("internal key {0} is not an x-only secp256k1 point")]
    InternalKey(String),
}

/// Why a BIP-341 signature hash could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SighashError {
    /// The input index is not an input of the transaction.
    #[error("input {input} does not exist (the transaction has {inputs} inputs)")]
    NoSuchInput {
        /// The index asked for.
        input: usize,
        /// How many inputs the transaction has.
        inputs: usize,
    },
    /// There is not exactly one spent output per input.
    #[error("{prevouts} spent outputs given for {inputs} inputs")]
    PrevoutCount {
        /// How many spent outputs were given.
        prevouts: usize,
        /// How many inputs the transaction has.
        inputs: usize,
    },
    /// One sighash type per input is required.
    #[error("{types} sighash types given for {inputs} inputs")]
    TypeCount {
        /// How many sighash types were given.
        types: usize,
        /// How many inputs the transaction has.
        inputs: usize,
    },
    /// rust-bitcoin refused the computation (e.g. SIGHASH_SINGLE without a matching output).
    #[error("input {input}: {reason}")]
    Compute {
        /// The input being hashed.
        input: usize,
        /// rust-bitcoin's reason.
        reason: String,
    },
}

/// Why a PSBT was refused as a spend of the group's wallet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsbtError {
    /// The text is not valid base64.
    #[error("PSBT is not valid base64: {0}")]
    Base64(String),
    /// The bytes are not a BIP-174 PSBT.
    #[error("PSBT does not decode: {0}")]
    Decode(String),
    /// The transaction spends nothing.
    #[error("PSBT has no inputs")]
    NoInputs,
    /// The transaction pays nothing.
    #[error("PSBT has no outputs")]
    NoOutputs,
    /// The same previous output is spent by two inputs.
    #[error("input {input} spends {outpoint}, already spent by input {first}")]
    DuplicateInput {
        /// The later input.
        input: usize,
        /// The earlier input spending the same outpoint.
        first: usize,
        /// The outpoint spent twice.
        outpoint: String,
    },
    /// The input carries no `witness_utxo` (the spent output: its script and amount).
    #[error("input {input} carries no witness_utxo")]
    MissingWitnessUtxo {
        /// The input.
        input: usize,
    },
    /// The input's `non_witness_utxo` disagrees with its outpoint or its `witness_utxo`.
    #[error("input {input}: non_witness_utxo does not match the outpoint and witness_utxo")]
    UtxoMismatch {
        /// The input.
        input: usize,
    },
    /// The input spends an output that is not the group's own P2TR output.
    #[error("input {input} spends scriptPubKey {script_pubkey}, not the group's P2TR output")]
    ForeignInput {
        /// The input.
        input: usize,
        /// The spent scriptPubKey (hex).
        script_pubkey: String,
    },
    /// The input asks for a sighash type other than SIGHASH_DEFAULT or SIGHASH_ALL.
    #[error("input {input}: sighash type {found:#x} refused (only DEFAULT and ALL are signed)")]
    SighashType {
        /// The input.
        input: usize,
        /// The requested sighash type.
        found: u32,
    },
    /// The input's `tap_internal_key` is not the group's internal key.
    #[error("input {input}: tap_internal_key {found} is not the group's internal key")]
    InternalKey {
        /// The input.
        input: usize,
        /// The key in the PSBT (hex).
        found: String,
    },
    /// The input claims a script tree, which the group's BIP-86 output has not.
    #[error(
        "input {input} carries script-path data (merkle root, leaf scripts or script signatures)"
    )]
    ScriptPath {
        /// The input.
        input: usize,
    },
    /// The input already carries a final scriptSig or witness (possibly with an annex).
    #[error("input {input} is already finalized")]
    AlreadyFinalized {
        /// The input.
        input: usize,
    },
    /// The input carries a final witness whose last element is an annex (0x50 prefix).
    #[error("input {input} carries an annex")]
    Annex {
        /// The input.
        input: usize,
    },
    /// The input carries a key-value pair BIP-174/371 do not define: what it means for the
    /// signature is unknown, so it is not signed.
    #[error("input {input} carries an unknown field of key type {key_type:#x}")]
    UnknownInputField {
        /// The input.
        input: usize,
        /// The key type of the unknown field.
        key_type: u8,
    },
    /// A global xpub of the PSBT belongs to another network.
    #[error("the PSBT's global xpub {xpub} is not for {expected}")]
    WrongNetwork {
        /// The xpub.
        xpub: String,
        /// The network the spend was asked for.
        expected: String,
    },
    /// An input's amount is above 21 million BTC.
    #[error("input {input}: amount {amount} sat is above the money supply")]
    InputAmount {
        /// The input.
        input: usize,
        /// Its amount in satoshis.
        amount: u64,
    },
    /// An output's amount is above 21 million BTC.
    #[error("output {output}: amount {amount} sat is above the money supply")]
    OutputAmount {
        /// The output.
        output: usize,
        /// Its amount in satoshis.
        amount: u64,
    },
    /// The outputs pay more than the inputs hold.
    #[error("outputs pay {outputs} sat but inputs hold only {inputs} sat")]
    OutputsExceedInputs {
        /// Sum of the inputs.
        inputs: u64,
        /// Sum of the outputs.
        outputs: u64,
    },
    /// Sums overflowed.
    #[error("amount sum overflows")]
    AmountOverflow,
    /// The signature hash of an input could not be computed.
    #[error(transparent)]
    Sighash(#[from] SighashError),
}

/// Why signatures could not be added or the transaction finalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalizeError {
    /// Not one signature per input.
    #[error("{found} signatures for {inputs} inputs")]
    SignatureCount {
        /// How many signatures were given.
        found: usize,
        /// How many inputs the transaction has.
        inputs: usize,
    },
    /// The input has no key-path signature to finalize with.
    #[error("input {input} has no tap_key_sig")]
    MissingSignature {
        /// The input.
        input: usize,
    },
    /// The signature is not a BIP-340 signature of the input's sighash under the output key.
    #[error("input {input}: signature does not verify under the output key Q: {reason}")]
    BadSignature {
        /// The input.
        input: usize,
        /// Why (from the BIP-340 check).
        reason: String,
    },
    /// The signature carries a sighash type other than the one the input asks for.
    #[error(
        "input {input}: signature's sighash type {found:#x} differs from the input's {expected:#x}"
    )]
    SignatureSighashType {
        /// The input.
        input: usize,
        /// The type on the signature.
        found: u32,
        /// The type the input asks for.
        expected: u32,
    },
    /// The signature hashes could not be computed.
    #[error(transparent)]
    Sighash(#[from] SighashError),
}

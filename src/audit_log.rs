//! The coordinator's append-only audit log (JSON Lines, hash-chained).
//!
//! [`AuditLog::append`] gives the record its `index` and `prev` (the chain hash of the last
//! line), writes the line and its newline in one write and syncs it to disk before
//! returning, so a record reported as appended survives a crash. On open, a last line
//! without its newline — a write cut short by a crash — is truncated away: it was never
//! reported as appended.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use verifier::audit::{chain_hash, AuditRecord};

/// An open audit log.
pub struct AuditLog {
    file: File,
    next_index: u64,
    prev: [u8; 32],
}

impl AuditLog {
    /// Opens (or creates) the log at `path`, recovering its index and chain head.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            file.set_len(complete as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::End(0))?;
        let lines: Vec<&[u8]> = bytes[..complete]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        Ok(Self {
            file,
            next_index: lines.len() as u64,
            prev: lines.last().map_or([0; 32], |l| chain_hash(l)),
        })
    }

    /// Number of records in the log.
    pub fn len(&self) -> u64 {
        self.next_index
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.next_index == 0
    }

    /// Sets the record's `index` and `prev`, appends it durably, and returns its line.
    pub fn append(&mut self, record: &mut AuditRecord) -> io::Result<String> {
        record.index = self.next_index;
        record.prev = self.prev;
        let line = record.to_line();
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.prev = chain_hash(line.as_bytes());
        self.next_index += 1;
        Ok(line)
    }
}

//! Typed errors of the library; the binary adds context and turns them into exit codes.

use std::path::PathBuf;

/// Every error the library can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file could not be read or did not have the expected shape or values.
    #[error("{file}{}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default(), column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
    Data {
        /// The file (or a description of the in-memory source).
        file: String,
        /// 1-based line number, when one applies.
        line: Option<usize>,
        /// Column name or index, when one applies.
        column: Option<String>,
        /// What was expected and what was found.
        message: String,
    },
    /// A NumPy `.npy` file is malformed or holds what cannot be read.
    #[error("{file}: {problem}")]
    Npy {
        /// The file.
        file: String,
        /// What is wrong and what was expected.
        problem: crate::data::npy::NpyProblem,
    },
    /// A configuration or prior file is invalid.
    #[error("{file}: {message}")]
    Config {
        /// The file that holds the bad setting.
        file: String,
        /// Which field is wrong and what was expected.
        message: String,
    },
    /// Invalid arguments given to a library function.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Numerical trouble: NaN, infinity, a non-positive-definite matrix, a divergence.
    #[error("numerical problem: {0}")]
    Numeric(String),
    /// A run would need more memory than the limit (`max_memory`) or the machine has.
    #[error("not enough memory: {0}")]
    Resources(String),
    /// A saved model could not be read or does not match what is asked of it.
    #[error("model artifact {path}: {message}")]
    Artifact {
        /// The artifact directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An operating-system input/output error on a named path.
    /// (The OS reason is part of the message, not a chained source, so it is said once.)
    #[error("{path}: {reason}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The operating system's reason.
        reason: std::io::Error,
    },
}

impl Error {
    /// A data error with file, optional line and optional column.
    pub fn data(
        file: impl Into<String>,
        line: Option<usize>,
        column: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Data {
            file: file.into(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, reason: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            reason,
        }
    }
}

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

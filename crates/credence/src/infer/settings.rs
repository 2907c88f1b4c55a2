//! Reading method settings from the config's free `[inference]` table, with defaults and errors
//! that name the key.

use crate::error::{Error, Result};

/// A view of the `[inference]` table that checks types and names the offending key.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    table: &'a toml::Table,
    source: &'a str,
}

impl<'a> Settings<'a> {
    /// Wraps the table read from `source`.
    pub fn new(table: &'a toml::Table, source: &'a str) -> Self {
        Settings { table, source }
    }

    /// The keys the table names.
    pub fn keys(&self) -> impl Iterator<Item = &'a String> {
        self.table.keys()
    }

    /// Whether the table names `key`.
    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn bad(&self, key: &str, want: &str, v: &toml::Value) -> Error {
        Error::Config {
            file: self.source.into(),
            message: format!("inference.{key} must be {want}, found {v}"),
        }
    }

    /// A number (integers accepted), or `default` when absent.
    pub fn f64(&self, key: &str, default: f64) -> Result<f64> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Float(f)) => Ok(*f),
            Some(toml::Value::Integer(i)) => Ok(*i as f64),
            Some(v) => Err(self.bad(key, "a number", v)),
        }
    }

    /// An optional number.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        if self.table.contains_key(key) {
            self.f64(key, 0.0).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A positive number, or `default` when absent.
    pub fn positive(&self, key: &str, default: f64) -> Result<f64> {
        let v = self.f64(key, default)?;
        if v > 0.0 && v.is_finite() {
            Ok(v)
        } else {
            Err(Error::Config {
                file: self.source.into(),
                message: format!("inference.{key} must be positive, found {v}"),
            })
        }
    }

    /// A non-negative integer, or `default` when absent.
    pub fn usize(&self, key: &str, default: usize) -> Result<usize> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as usize),
            Some(v) => Err(self.bad(key, "a non-negative integer", v)),
        }
    }

    /// An optional non-negative integer.
    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        if self.table.contains_key(key) {
            self.usize(key, 0).map(Some)
        } else {
            Ok(None)
        }
    }

    /// An optional string.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        if self.table.contains_key(key) {
            self.string(key, "").map(Some)
        } else {
            Ok(None)
        }
    }

    /// A boolean, or `default` when absent.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(self.bad(key, "true or false", v)),
        }
    }

    /// A string, or `default` when absent.
    pub fn string(&self, key: &str, default: &str) -> Result<String> {
        match self.table.get(key) {
            None => Ok(default.to_string()),
            Some(toml::Value::String(v)) => Ok(v.clone()),
            Some(v) => Err(self.bad(key, "a string", v)),
        }
    }

    /// A config error about this table.
    pub fn error(&self, message: String) -> Error {
        Error::Config {
            file: self.source.into(),
            message,
        }
    }

    /// A list of numbers, or `default` when absent.
    pub fn f64_list(&self, key: &str, default: &[f64]) -> Result<Vec<f64>> {
        match self.table.get(key) {
            None => Ok(default.to_vec()),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::Float(f) => Ok(*f),
                    toml::Value::Integer(i) => Ok(*i as f64),
                    other => Err(self.bad(key, "a list of numbers", other)),
                })
                .collect(),
            Some(v) => Err(self.bad(key, "a list of numbers", v)),
        }
    }
}

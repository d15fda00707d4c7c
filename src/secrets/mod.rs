//! Secret references (SPEC §3): a config never holds a secret, only where to find one.
//!
//! `"keyring"` names the OS keyring entry `trmctl/<owner>/<key>` (`"keyring:KEY"` the entry
//! `trmctl/<owner>/KEY`, for a second secret of one key during a rotation), `"env:NAME"` an environment
//! variable, `"file:/path"` a file, `"credential:NAME"` a file in systemd's
//! `$CREDENTIALS_DIRECTORY`. Anything else is rejected when the config is read, so a pasted
//! secret is an error instead of a secret sitting in a config file.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Deserializer};

pub mod keyring;

/// The keyring entry for a secret-valued key: `<owner>/<key>`, the owner being the
/// integration, account or section that holds the key.
pub fn entry_name(owner: &str, key: &str) -> String {
    format!("{owner}/{key}")
}

/// Checks a secret name given on the command line: `<owner>/<key>`, plain characters.
pub fn valid_entry_name(name: &str) -> bool {
    let mut parts = name.split('/');
    let plain = |p: Option<&str>| p.is_some_and(plain_name);
    plain(parts.next()) && plain(parts.next()) && parts.next().is_none()
}

/// One part of an entry name: letters, digits, `-`, `_` and `.`, not starting with `.`.
fn plain_name(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with('.')
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Whether `given` is the secret `expected`, in time that depends on neither value nor on
/// their lengths: the SHA-256 digests are compared, in constant time. An empty secret matches
/// nothing, so an unset token can never be "guessed" by sending none.
pub fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let given: [u8; 32] = Sha256::digest(given).into();
    let wanted: [u8; 32] = Sha256::digest(expected).into();
    !expected.is_empty() && bool::from(given.ct_eq(&wanted))
}

/// Where a secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// The OS keyring entry `trmctl/<owner>/<key>`.
    Keyring,
    /// The OS keyring entry `trmctl/<owner>/<name>`: another entry than the key's own, so two
    /// secrets of one key can both be in the keyring while a secret is rotated.
    KeyringNamed(String),
    /// An environment variable.
    Env(String),
    /// A file, read whole; one trailing newline is dropped.
    File(PathBuf),
    /// A file in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
    Credential(String),
}

impl SecretRef {
    /// Parses a reference; the error says what references look like without echoing the value.
    pub fn parse(text: &str) -> Result<SecretRef, String> {
        let nonempty = |rest: &str, what: &str| {
            if rest.is_empty() {
                Err(format!("`{what}` needs a name after the colon"))
            } else {
                Ok(rest.to_string())
            }
        };
        if text == "keyring" {
            Ok(SecretRef::Keyring)
        } else if let Some(rest) = text.strip_prefix("keyring:") {
            let name = nonempty(rest, "keyring:")?;
            if !plain_name(&name) {
                return Err(
                    "`keyring:` takes an entry name of letters, digits, `-`, `_` and `.`".into(),
                );
            }
            Ok(SecretRef::KeyringNamed(name))
        } else if let Some(rest) = text.strip_prefix("env:") {
            let name = nonempty(rest, "env:")?;
            // No environment variable has such a name (and the C library cannot be asked).
            if name.contains(['=', '\0']) {
                return Err("`env:` takes a variable name, without `=`".into());
            }
            Ok(SecretRef::Env(name))
        } else if let Some(rest) = text.strip_prefix("file:") {
            let path = PathBuf::from(nonempty(rest, "file:")?);
            if !path.is_absolute() {
                return Err(
                    "`file:` takes an absolute path (a relative one depends on where \
                            trmctl runs)"
                        .into(),
                );
            }
            Ok(SecretRef::File(path))
        } else if let Some(rest) = text.strip_prefix("credential:") {
            let name = nonempty(rest, "credential:")?;
            if name.contains(['/', '\0']) || name == "." || name == ".." {
                return Err("`credential:` takes a file name, not a path".into());
            }
            Ok(SecretRef::Credential(name))
        } else {
            Err(
                "a secret is never written in the config: use \"keyring\", \"keyring:KEY\", \
                 \"env:NAME\", \"file:/path\" or \"credential:NAME\""
                    .into(),
            )
        }
    }

    /// Reads the secret. `owner` and `key` name it in errors and give the keyring entry
    /// `<owner>/<key>`. An empty value is an error too: no secret is empty, and an empty HMAC
    /// key would let anyone sign (an `Environment=SECRET=` line in a unit file makes one).
    pub fn resolve(&self, owner: &str, key: &str) -> Result<String> {
        let value = self.read(owner, key)?;
        if value.is_empty() {
            bail!(
                "secret `{}` is empty ({})",
                entry_name(owner, key),
                self.location(owner, key)
            );
        }
        Ok(value)
    }

    /// Whether the secret can be read now: `Ok(false)` when it is absent or empty, an error
    /// when its keyring cannot be asked at all (so a dead keyring is not "every entry missing").
    pub fn is_present(&self, owner: &str, key: &str) -> Result<bool> {
        match self.keyring_entry(owner, key) {
            Some(entry) => Ok(keyring::get(&entry)?.is_some_and(|v| !v.is_empty())),
            None => Ok(self.resolve(owner, key).is_ok()),
        }
    }

    /// The keyring entry the secret of `<owner>/<key>` is kept in, when it is in the keyring.
    pub fn keyring_entry(&self, owner: &str, key: &str) -> Option<String> {
        match self {
            SecretRef::Keyring => Some(entry_name(owner, key)),
            SecretRef::KeyringNamed(name) => Some(entry_name(owner, name)),
            _ => None,
        }
    }

    fn read(&self, owner: &str, key: &str) -> Result<String> {
        let name = self
            .keyring_entry(owner, key)
            .unwrap_or_else(|| entry_name(owner, key));
        match self {
            SecretRef::Keyring | SecretRef::KeyringNamed(_) => keyring::get(&name)?.with_context(|| {
                format!(
                    "secret `{name}` is not in the keyring; set it with `trmctl secret set {name}`"
                )
            }),
            // Not `VarError`'s own text: for a value that is not UTF-8, it quotes the value.
            SecretRef::Env(var) => std::env::var(var).map_err(|e| match e {
                std::env::VarError::NotPresent => {
                    anyhow!("secret `{name}`: environment variable {var} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    anyhow!("secret `{name}`: environment variable {var} is not valid UTF-8")
                }
            }),
            SecretRef::File(path) => read_secret_file(path)
                .with_context(|| format!("secret `{name}`: reading {}", path.display())),
            SecretRef::Credential(file) => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY").with_context(|| {
                    format!(
                        "secret `{name}`: credential:{file} needs $CREDENTIALS_DIRECTORY \
                         (systemd LoadCredential=)"
                    )
                })?;
                let path = PathBuf::from(dir).join(file);
                read_secret_file(&path)
                    .with_context(|| format!("secret `{name}`: reading {}", path.display()))
            }
        }
    }

    /// Where the secret is kept, for `secret list` and `auth list`: never its value.
    pub fn location(&self, owner: &str, key: &str) -> String {
        match self.keyring_entry(owner, key) {
            Some(entry) => format!("keyring ({}/{entry})", keyring::SERVICE),
            None => self.to_string(),
        }
    }
}

fn read_secret_file(path: &std::path::Path) -> Result<String> {
    let mut text = std::fs::read_to_string(path)?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        bail!("the file is empty");
    }
    Ok(text)
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Keyring => f.write_str("keyring"),
            SecretRef::KeyringNamed(name) => write!(f, "keyring:{name}"),
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Credential(name) => write!(f, "credential:{name}"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SecretRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One secret or several active at once (rotation): `secret = "env:A"` or
/// `secret = ["env:NEW", "env:OLD"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRefs(pub Vec<SecretRef>);

impl<'de> Deserialize<'de> for SecretRefs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let texts = match OneOrMany::deserialize(deserializer) {
            Ok(OneOrMany::One(text)) => vec![text],
            Ok(OneOrMany::Many(texts)) => texts,
            Err(_) => {
                return Err(serde::de::Error::custom(
                    "expected a secret reference or a list of them",
                ));
            }
        };
        if texts.is_empty() {
            return Err(serde::de::Error::custom("the list of secrets is empty"));
        }
        let refs = texts
            .iter()
            .map(|t| SecretRef::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::de::Error::custom)?;
        if let Some(twice) = refs
            .iter()
            .enumerate()
            .find_map(|(i, r)| refs[..i].contains(r).then_some(r))
        {
            return Err(serde::de::Error::custom(format!(
                "`{twice}` is listed twice; a second keyring secret is \"keyring:KEY\" (the entry \
                 <integration>/KEY, set with `trmctl secret set`)"
            )));
        }
        Ok(SecretRefs(refs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_itself_and_an_empty_one_matches_nothing() {
        assert!(same_secret("s3cret-token", "s3cret-token"));
        assert!(!same_secret("s3cret-toke", "s3cret-token"), "a prefix");
        assert!(!same_secret("s3cret-tokenX", "s3cret-token"), "longer");
        assert!(!same_secret("S3cret-token", "s3cret-token"));
        assert!(!same_secret("", ""), "an unset token is never matched");
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(SecretRef::parse("keyring"), Ok(SecretRef::Keyring));
        assert_eq!(
            SecretRef::parse("keyring:secret-old"),
            Ok(SecretRef::KeyringNamed("secret-old".into()))
        );
        assert_eq!(SecretRef::parse("env:X"), Ok(SecretRef::Env("X".into())));
        assert_eq!(
            SecretRef::parse("file:/run/s"),
            Ok(SecretRef::File("/run/s".into()))
        );
        assert_eq!(
            SecretRef::parse("credential:tok"),
            Ok(SecretRef::Credential("tok".into()))
        );
    }

    #[test]
    fn a_literal_secret_is_rejected_without_echo() {
        let err = SecretRef::parse("whsec_abcdef").unwrap_err();
        assert!(!err.contains("whsec_abcdef"));
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("keyring:").is_err());
        assert!(SecretRef::parse("keyring:a/b").is_err());
        assert!(SecretRef::parse("file:secrets/token").is_err());
        assert!(SecretRef::parse("credential:../x").is_err());
        assert!(SecretRef::parse("credential:..").is_err());
        assert!(SecretRef::parse("env:A=B").is_err());
    }

    #[test]
    fn entry_names_are_owner_slash_key() {
        assert!(valid_entry_name("github-repo/secret"));
        assert!(valid_entry_name("founder/refresh_token"));
        for bad in ["x", "a/b/c", "/x", "x/", "a b/c", "../x"] {
            assert!(!valid_entry_name(bad), "{bad}");
        }
    }

    #[test]
    fn file_secret_drops_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "s3cret\n").unwrap();
        let secret = SecretRef::File(path).resolve("x", "secret").unwrap();
        assert_eq!(secret, "s3cret");
    }

    #[test]
    fn missing_env_names_the_variable_not_a_value() {
        let err = SecretRef::Env("TRMCTL_TEST_SURELY_UNSET".into())
            .resolve("github-repo", "secret")
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("TRMCTL_TEST_SURELY_UNSET") && text.contains("github-repo/secret"));
    }

    #[cfg(unix)]
    #[test]
    fn env_value_that_is_not_utf8_is_not_quoted() {
        use std::os::unix::ffi::OsStrExt;
        let var = "TRMCTL_TEST_NOT_UTF8_SECRET";
        let value = std::ffi::OsStr::from_bytes(b"TOPSECRET-value\xff");
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var(var, value) };
        let err = SecretRef::Env(var.into())
            .resolve("core", "secret")
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("not valid UTF-8"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
    }
}

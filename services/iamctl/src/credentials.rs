//! Where the signing credentials come from, in the AWS CLI's order.
//!
//! 1. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`,
//!    unless `--profile` is given (as in the AWS CLI, `AWS_PROFILE` does not override them)
//!    or iamctl's own file is named (`--credentials-file` or `IAMD_CREDENTIALS_FILE`: a
//!    user who exports AWS keys for AWS itself still signs iamd calls with the file named
//!    for iamd).
//! 2. A profile of an INI credentials file: `--credentials-file`, else
//!    `IAMD_CREDENTIALS_FILE`, else `AWS_SHARED_CREDENTIALS_FILE`, else
//!    `~/.aws/credentials`; the profile is `--profile`, else `AWS_PROFILE`, else `default`.
//!
//! The region is `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the
//! profile's `region`, else `us-east-1`. Nothing here prints or logs a secret: error
//! messages name files, profiles, keys and line numbers, never a line's contents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iam_api::signing::{DEFAULT_REGION, SigningCredentials};

/// What the command line says about credentials.
#[derive(Debug, Clone, Default)]
pub(crate) struct CredentialFlags {
    pub(crate) profile: Option<String>,
    pub(crate) credentials_file: Option<PathBuf>,
    pub(crate) region: Option<String>,
}

/// The sections of an INI file: profile name → setting (lowercase) → value.
pub(crate) type Profiles = BTreeMap<String, BTreeMap<String, String>>;

/// Resolves the credentials. `env` answers environment variables and `read` reads a file,
/// so tests need neither the process environment nor the file system.
pub(crate) fn resolve(
    flags: &CredentialFlags,
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<SigningCredentials, String> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let explicit_region = flags
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"));
    let file = flags
        .credentials_file
        .clone()
        .or_else(|| env("IAMD_CREDENTIALS_FILE").map(PathBuf::from))
        .or_else(|| env("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from))
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".aws/credentials")));
    let profile = flags
        .profile
        .clone()
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());

    let iamd_file = flags.credentials_file.is_some() || env("IAMD_CREDENTIALS_FILE").is_some();
    if flags.profile.is_none() && !iamd_file {
        if let Some(access_key_id) = env("AWS_ACCESS_KEY_ID") {
            let secret_access_key = env("AWS_SECRET_ACCESS_KEY")
                .ok_or("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")?;
            // The profile may still name the region; a missing or broken file is no error.
            let region = explicit_region
                .or_else(|| {
                    let text = read(file.as_deref()?).ok()?;
                    parse(&text).ok()?.get(&profile)?.get("region").cloned()
                })
                .unwrap_or_else(|| DEFAULT_REGION.to_owned());
            return Ok(SigningCredentials {
                access_key_id,
                secret_access_key,
                session_token: env("AWS_SESSION_TOKEN"),
                region,
            });
        }
    }

    let file = file.ok_or(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give \
         --credentials-file (HOME is not set, so ~/.aws/credentials cannot be found)",
    )?;
    let text = read(&file).map_err(|e| {
        format!(
            "no credentials: the credentials file `{}` cannot be read: {e}",
            file.display()
        )
    })?;
    let profiles =
        parse(&text).map_err(|e| format!("credentials file `{}`: {e}", file.display()))?;
    let settings = profiles.get(&profile).ok_or_else(|| {
        format!(
            "profile `{profile}` is not in the credentials file `{}`",
            file.display()
        )
    })?;
    let setting = |key: &str| settings.get(key).filter(|v| !v.is_empty()).cloned();
    let missing = |key: &str| format!("profile `{profile}` of `{}` has no `{key}`", file.display());
    Ok(SigningCredentials {
        access_key_id: setting("aws_access_key_id").ok_or_else(|| missing("aws_access_key_id"))?,
        secret_access_key: setting("aws_secret_access_key")
            .ok_or_else(|| missing("aws_secret_access_key"))?,
        session_token: setting("aws_session_token"),
        region: explicit_region
            .or_else(|| setting("region"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
    })
}

/// Parses an AWS credentials or config file: `[name]` or `[profile name]` sections of
/// `key = value` lines; `#` and `;` start comment lines. Keys are compared ignoring case.
pub(crate) fn parse(text: &str) -> Result<Profiles, String> {
    let mut profiles = Profiles::new();
    let mut current: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let number = index + 1;
        if let Some(header) = line.strip_prefix('[') {
            let name = header
                .strip_suffix(']')
                .ok_or_else(|| format!("line {number}: a section header must end with `]`"))?
                .trim();
            let name = name.strip_prefix("profile ").map_or(name, str::trim);
            if name.is_empty() {
                return Err(format!("line {number}: empty profile name"));
            }
            profiles.entry(name.to_owned()).or_default();
            current = Some(name.to_owned());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {number}: expected `key = value`"))?;
        let section = current
            .as_ref()
            .and_then(|name| profiles.get_mut(name))
            .ok_or_else(|| format!("line {number}: a setting before any `[profile]` section"))?;
        section.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const IAMD_FILE: &str = "# iamd root credentials of account 111111111111: keep them secret\n\
        [default]\naws_access_key_id = AKIAROOT\naws_secret_access_key = s3cr3t/+x=\nregion = eu-west-1\n";

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> std::io::Result<String> {
        let map: HashMap<PathBuf, String> = entries
            .iter()
            .map(|(k, v)| (PathBuf::from(k), (*v).to_owned()))
            .collect();
        move |path| {
            map.get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    #[test]
    fn parses_the_file_iamd_writes() {
        let profiles = parse(IAMD_FILE).unwrap();
        let default = &profiles["default"];
        assert_eq!(default["aws_access_key_id"], "AKIAROOT");
        assert_eq!(default["aws_secret_access_key"], "s3cr3t/+x=");
        assert_eq!(default["region"], "eu-west-1");
    }

    #[test]
    fn parses_several_profiles_comments_and_config_style_headers() {
        let text = "; comment\n[default]\nAWS_ACCESS_KEY_ID=A\n\n[profile ops]\n  aws_access_key_id = B  \n# x\n[dev]\nregion=us-west-2\n";
        let profiles = parse(text).unwrap();
        assert_eq!(profiles["default"]["aws_access_key_id"], "A");
        assert_eq!(profiles["ops"]["aws_access_key_id"], "B");
        assert_eq!(profiles["dev"]["region"], "us-west-2");
    }

    #[test]
    fn malformed_lines_are_errors_that_do_not_echo_the_line() {
        let err = parse("[default]\nsecretvalue\n").unwrap_err();
        assert_eq!(err, "line 2: expected `key = value`");
        assert!(parse("aws_access_key_id = A\n").is_err());
        assert!(parse("[default\n").is_err());
    }

    #[test]
    fn environment_keys_win_over_the_file() {
        let creds = resolve(
            &CredentialFlags::default(),
            &env(&[
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
                ("AWS_SESSION_TOKEN", "tok"),
                ("HOME", "/home/u"),
            ]),
            &files(&[("/home/u/.aws/credentials", IAMD_FILE)]),
        )
        .unwrap();
        assert_eq!(creds.access_key_id, "AKIAENV");
        assert_eq!(creds.session_token.as_deref(), Some("tok"));
        // The region still comes from the profile when the environment names none.
        assert_eq!(creds.region, "eu-west-1");
    }

    #[test]
    fn a_file_named_for_iamd_wins_over_environment_keys() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "envsecret"),
        ];
        let flags = CredentialFlags {
            credentials_file: Some("/data/root-credentials".into()),
            ..Default::default()
        };
        let files = files(&[("/data/root-credentials", IAMD_FILE)]);
        let creds = resolve(&flags, &env(&keys), &files).unwrap();
        assert_eq!(creds.access_key_id, "AKIAROOT");
        let mut with_variable = keys.to_vec();
        with_variable.push(("IAMD_CREDENTIALS_FILE", "/data/root-credentials"));
        let creds = resolve(&CredentialFlags::default(), &env(&with_variable), &files).unwrap();
        assert_eq!(creds.access_key_id, "AKIAROOT");
    }

    #[test]
    fn profile_flag_skips_environment_keys() {
        let flags = CredentialFlags {
            profile: Some("default".into()),
            credentials_file: Some("/data/root-credentials".into()),
            region: None,
        };
        let creds = resolve(
            &flags,
            &env(&[
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
                ("AWS_REGION", "ap-south-1"),
            ]),
            &files(&[("/data/root-credentials", IAMD_FILE)]),
        )
        .unwrap();
        assert_eq!(creds.access_key_id, "AKIAROOT");
        assert_eq!(creds.region, "ap-south-1");
    }

    #[test]
    fn file_and_profile_come_from_the_environment() {
        let creds = resolve(
            &CredentialFlags::default(),
            &env(&[
                ("IAMD_CREDENTIALS_FILE", "/a"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/b"),
                ("AWS_PROFILE", "ops"),
            ]),
            &files(&[(
                "/a",
                "[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = x\n",
            )]),
        )
        .unwrap();
        assert_eq!(creds.access_key_id, "AKIAOPS");
        assert_eq!(creds.region, DEFAULT_REGION);
    }

    #[test]
    fn missing_pieces_are_named_without_secrets() {
        let partial = resolve(
            &CredentialFlags::default(),
            &env(&[("AWS_ACCESS_KEY_ID", "AKIAENV")]),
            &files(&[]),
        );
        assert!(partial.unwrap_err().contains("AWS_SECRET_ACCESS_KEY"));

        let no_profile = resolve(
            &CredentialFlags::default(),
            &env(&[("AWS_PROFILE", "nope"), ("HOME", "/h")]),
            &files(&[("/h/.aws/credentials", IAMD_FILE)]),
        );
        assert!(no_profile.unwrap_err().contains("profile `nope`"));

        let no_secret = resolve(
            &CredentialFlags::default(),
            &env(&[("HOME", "/h")]),
            &files(&[("/h/.aws/credentials", "[default]\naws_access_key_id = A\n")]),
        )
        .unwrap_err();
        assert!(no_secret.contains("aws_secret_access_key"));

        let no_file = resolve(
            &CredentialFlags::default(),
            &env(&[("HOME", "/h")]),
            &files(&[]),
        );
        assert!(no_file.unwrap_err().contains("/h/.aws/credentials"));
    }
}

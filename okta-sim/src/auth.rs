//! Who is asking and what they may read. API tokens: `--token NAME=users,apps,logs[,groups][:revoke-after=N]`,
//! the token's value is NAME, and a token without "logs" gets 403 on /api/v1/logs and nowhere else. OAuth
//! access tokens (see `oauth`) carry scopes instead: okta.users.read, okta.apps.read, okta.logs.read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    Users,
    Apps,
    Logs,
    Groups,
}

pub struct Token {
    pub name: String,
    permissions: Vec<Permission>,
    revoke_after: Option<u64>,
    used: AtomicU64,
}

impl Token {
    pub fn parse(spec: &str) -> Result<Token, String> {
        let (main, options) = match spec.split_once(':') {
            Some((m, o)) => (m, Some(o)),
            None => (spec, None),
        };
        let (name, perms) =
            main.split_once('=').ok_or_else(|| format!("token {spec:?}: write NAME=users,apps,logs"))?;
        if name.is_empty() {
            return Err(format!("token {spec:?}: empty name"));
        }
        let mut permissions = Vec::new();
        for p in perms.split(',').filter(|p| !p.is_empty()) {
            let granted: &[Permission] = match p {
                "users" => &[Permission::Users],
                "apps" => &[Permission::Apps],
                "logs" => &[Permission::Logs],
                "groups" => &[Permission::Groups],
                "all" => &[Permission::Users, Permission::Apps, Permission::Logs, Permission::Groups],
                other => {
                    return Err(format!(
                        "token {spec:?}: unknown permission {other:?} (users, apps, logs, groups, all)"
                    ));
                }
            };
            permissions.extend_from_slice(granted);
        }
        let mut revoke_after = None;
        if let Some(options) = options {
            for opt in options.split(',') {
                match opt.split_once('=') {
                    Some(("revoke-after", n)) => {
                        revoke_after =
                            Some(n.parse().map_err(|_| format!("token {spec:?}: revoke-after takes a number"))?)
                    }
                    _ => {
                        return Err(format!("token {spec:?}: unknown option {opt:?} (revoke-after=N)"));
                    }
                }
            }
        }
        Ok(Token { name: name.to_string(), permissions, revoke_after, used: AtomicU64::new(0) })
    }

    /// Counts one request; false once the token has been revoked.
    fn use_once(&self) -> bool {
        let n = self.used.fetch_add(1, Ordering::SeqCst);
        self.revoke_after.is_none_or(|limit| n < limit)
    }

    /// Revokes the token now, as an admin deleting it in the Admin Console would.
    pub fn revoke(&self) {
        self.used.store(u64::MAX / 2, Ordering::SeqCst);
    }

    fn revoked(&self) -> bool {
        self.used.load(Ordering::SeqCst) >= u64::MAX / 2
    }
}

impl Permission {
    /// The OAuth scope that grants the same read (developer.okta.com: OAuth 2.0 scopes for Okta APIs).
    pub fn scope(self) -> &'static str {
        match self {
            Permission::Users => "okta.users.read",
            Permission::Apps => "okta.apps.read",
            Permission::Logs => "okta.logs.read",
            Permission::Groups => "okta.groups.read",
        }
    }
}

/// An authenticated caller.
pub struct Principal {
    /// The token's name or the OAuth client id: rate limits and truth cut-offs are per principal.
    pub name: String,
    grants: Grants,
}

enum Grants {
    Token(Vec<Permission>),
    Scopes(Vec<String>),
}

impl Principal {
    pub fn oauth(client: String, scopes: Vec<String>) -> Principal {
        Principal { name: client, grants: Grants::Scopes(scopes) }
    }
    pub fn allows(&self, p: Permission) -> bool {
        match &self.grants {
            Grants::Token(perms) => perms.contains(&p),
            Grants::Scopes(scopes) => scopes.iter().any(|s| s == p.scope()),
        }
    }
    pub fn is_oauth(&self) -> bool {
        matches!(self.grants, Grants::Scopes(_))
    }
}

pub struct Tokens(HashMap<String, Token>);

impl Tokens {
    pub fn new(tokens: Vec<Token>) -> Tokens {
        Tokens(tokens.into_iter().map(|t| (t.name.clone(), t)).collect())
    }

    /// Authenticates an Authorization header. Okta documents `SSWS <token>`; the official Python SDK 3.4.6
    /// sends `SSWS<token>` with no space and works against Okta, so both forms are accepted.
    pub fn authenticate(&self, header: Option<&str>) -> Option<Principal> {
        let value = header?.strip_prefix("SSWS")?.trim_start();
        let token = self.0.get(value)?;
        (!token.revoked() && token.use_once())
            .then(|| Principal { name: token.name.clone(), grants: Grants::Token(token.permissions.clone()) })
    }

    pub fn get(&self, name: &str) -> Option<&Token> {
        self.0.get(name)
    }
}

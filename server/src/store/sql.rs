//! The SQL both stores run, written once.
//!
//! SQLite and PostgreSQL share one schema shape (see each store's
//! migrations), so the column lists, the statements, the values written for
//! a session, credential, access token or temporary key, the listing
//! filters and the naming of a duplicate are the same for both. They differ
//! in how a parameter is written (`?1` against `$1`), which
//! [`Placeholders`] settles: every statement here is written with `$n` and
//! rewritten once, when a store builds its [`Statements`]. What truly
//! differs stays in the backend: connections, the SQLite writer thread,
//! PostgreSQL's advisory locks, `FOR UPDATE SKIP LOCKED` and arrays.
//!
//! Values are [`SqlValue`]s, borrowed from the domain value where they can
//! be; each backend binds them through its driver's parameter trait.
//! [`rows`](super::rows) reads rows back, in the column orders fixed here.

use std::borrow::Cow;

use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, StoredSecret, TemporaryHuaweiKey};
use crate::domain::session::{Interaction, Session, Status};
use crate::domain::{Timestamp, to_unix_millis};
use crate::pfid::Pfid;
use crate::store::rows::{CREDENTIAL_COLUMN_COUNT, Columns, StoredRow};
use crate::store::{
    RevokeUserSessions, SealedPlace, SealedValue, SessionOrder, SessionQuery, StoreError,
};

/// How a backend writes the `n`-th (1-based) parameter of a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `?1`: SQLite's numbered parameters.
    Question,
    /// `$1`: PostgreSQL's.
    Dollar,
}

impl Placeholders {
    /// Parameter `n`.
    pub(crate) fn nth(self, n: usize) -> String {
        match self {
            Placeholders::Question => format!("?{n}"),
            Placeholders::Dollar => format!("${n}"),
        }
    }

    /// `template`, written with `$n` parameters, in this backend's form.
    /// Templates never hold a `$` but in a parameter.
    pub(crate) fn rewrite(self, template: &str) -> String {
        match self {
            Placeholders::Dollar => template.to_string(),
            Placeholders::Question => template.replace('$', "?"),
        }
    }
}

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SqlValue<'a> {
    Null,
    Integer(i64),
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

impl<'a> SqlValue<'a> {
    fn text(text: &'a str) -> SqlValue<'a> {
        SqlValue::Text(Cow::Borrowed(text))
    }

    fn optional_text(text: Option<&'a str>) -> SqlValue<'a> {
        text.map_or(SqlValue::Null, SqlValue::text)
    }

    fn bytes(bytes: &'a [u8]) -> SqlValue<'a> {
        SqlValue::Bytes(Cow::Borrowed(bytes))
    }

    fn time(at: Timestamp) -> SqlValue<'a> {
        SqlValue::Integer(to_unix_millis(at))
    }

    fn optional_time(at: Option<Timestamp>) -> SqlValue<'a> {
        at.map_or(SqlValue::Null, SqlValue::time)
    }

    fn optional_pfid(id: Option<&'a Pfid>) -> SqlValue<'a> {
        SqlValue::optional_text(id.map(Pfid::as_str))
    }
}

// ---------------------------------------------------------------------------
// Columns and statements.

/// Every column of `sessions`, in the order [`session_values`] writes and
/// [`decode_session`](super::rows::decode_session) reads them.
pub(crate) const SESSION_COLUMNS: &str = "id, identity_store_id, user_id, status, session_type, \
     credentials_type, created_at, expires_at, extended_at, extended_count, \
     first_seen_at, first_seen_ip, first_seen_user_agent, \
     last_seen_at, last_seen_ip, last_seen_user_agent, \
     browser, operating_system, city, state, country, \
     sudo_user_id, account_id, domain_id, device_id, title, ended_at, version";

/// Every column of `credentials` but the secrets, in the order
/// [`decode_credential`](super::rows::decode_credential) reads them.
const CREDENTIAL_COLUMNS: &str =
    "id, name, role, identity_store_id, user_id, rate_limit, created_at, revoked_at";

/// Every column of `credential_secrets`, in the order [`secret_values`]
/// writes them.
const SECRET_COLUMNS: &str = "kind, lookup_key, credential_id, secret_hash, secret_sealed";

/// [`CREDENTIAL_COLUMNS`] of the credential `c` of a join.
const JOINED_CREDENTIAL_COLUMNS: &str = "c.id, c.name, c.role, c.identity_store_id, c.user_id, c.rate_limit, c.created_at, \
     c.revoked_at";

/// Every column of `looker_access_tokens`, in the order
/// [`access_token_values`] writes and
/// [`decode_access_token`](super::rows::decode_access_token) reads them.
const ACCESS_TOKEN_COLUMNS: &str = "token_hash, credential_id, created_at, expires_at, \
     revoked_at, acting_user_id, session_id";

/// [`ACCESS_TOKEN_COLUMNS`] of the token `t` of a join.
const JOINED_ACCESS_TOKEN_COLUMNS: &str = "t.token_hash, t.credential_id, t.created_at, \
     t.expires_at, t.revoked_at, t.acting_user_id, t.session_id";

/// `('new', 'unauthenticated', 'authenticated')`, the open statuses as an
/// SQL list: constants of ours, never input, the same in every statement.
fn open_statuses() -> String {
    let names: Vec<String> = Status::OPEN
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

/// The `identity_store_id` of a revocation mark covering every store.
pub(crate) const EVERY_STORE: &str = "";

/// Every fixed statement, in one backend's placeholders. Built once per
/// store; the listing, counting and revoking statements, whose text
/// depends on the request, come from the functions below.
#[derive(Debug)]
pub(crate) struct Statements {
    pub session: String,
    pub insert_session: String,
    /// Writes every column but `id` (`$1`) over the row if its version is
    /// still `$29`.
    pub replace_session: String,
    pub revocation_marks_of_user: String,
    /// Records a revocation mark, keeping the later one.
    pub upsert_revocation_mark: String,
    pub insert_credential: String,
    pub insert_credential_secret: String,
    pub list_credentials: String,
    pub credential: String,
    pub revoke_credential: String,
    /// The unrevoked credential with a secret of kind `$1` and lookup key
    /// `$2`, then (columns 8 and 9) the secret's hash and sealed value.
    pub credential_by_secret: String,
    /// Every sealed credential secret: kind, lookup key, credential id,
    /// sealed value.
    pub sealed_secrets: String,
    /// Replaces a secret's sealed value `$4` (kind `$2`, lookup key `$3`)
    /// with `$1`.
    pub reseal_secret: String,
    /// Every temporary key's access key and sealed secret key.
    pub sealed_temporary_keys: String,
    /// Replaces a temporary key's sealed secret key `$3` (access key `$2`)
    /// with `$1`.
    pub reseal_temporary_key: String,
    pub insert_temporary_key: String,
    /// The parent credential, then the temporary key's columns.
    pub temporary_key: String,
    pub insert_access_token: String,
    /// The credential, then the access token's columns.
    pub access_token: String,
    pub revoke_access_token: String,
    pub delete_expired_access_tokens: String,
}

impl Statements {
    pub(crate) fn new(placeholders: Placeholders) -> Statements {
        let sql = |template: &str| placeholders.rewrite(template);
        let numbered = |count: usize| {
            (1..=count)
                .map(|n| placeholders.nth(n))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Statements {
            session: sql(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
            )),
            insert_session: format!(
                "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ({})",
                numbered(SESSION_COLUMN_COUNT)
            ),
            replace_session: sql("UPDATE sessions SET identity_store_id = $2, user_id = $3, \
                 status = $4, session_type = $5, credentials_type = $6, created_at = $7, \
                 expires_at = $8, extended_at = $9, extended_count = $10, \
                 first_seen_at = $11, first_seen_ip = $12, first_seen_user_agent = $13, \
                 last_seen_at = $14, last_seen_ip = $15, last_seen_user_agent = $16, \
                 browser = $17, operating_system = $18, city = $19, state = $20, \
                 country = $21, sudo_user_id = $22, account_id = $23, domain_id = $24, \
                 device_id = $25, title = $26, ended_at = $27, version = $28 \
                 WHERE id = $1 AND version = $29"),
            revocation_marks_of_user: sql(
                "SELECT identity_store_id, revoked_at FROM revocation_marks WHERE user_id = $1",
            ),
            upsert_revocation_mark: sql(
                "INSERT INTO revocation_marks (user_id, identity_store_id, revoked_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (user_id, identity_store_id) \
                 DO UPDATE SET revoked_at = CASE \
                 WHEN excluded.revoked_at > revocation_marks.revoked_at \
                 THEN excluded.revoked_at ELSE revocation_marks.revoked_at END",
            ),
            insert_credential: format!(
                "INSERT INTO credentials ({CREDENTIAL_COLUMNS}) VALUES ({})",
                numbered(CREDENTIAL_COLUMN_COUNT)
            ),
            insert_credential_secret: format!(
                "INSERT INTO credential_secrets ({SECRET_COLUMNS}) VALUES ({})",
                numbered(5)
            ),
            list_credentials: format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY created_at, id"
            ),
            credential: sql(&format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1"
            )),
            revoke_credential: sql(
                "UPDATE credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            ),
            // Comparing SHA-256 hashes of high-entropy tokens in SQL is
            // safe: timing can at most reveal a prefix of a hash, not of a
            // token. Proofs (a client secret, a sealed key) are compared by
            // the caller, in constant time.
            credential_by_secret: sql(&format!(
                "SELECT {JOINED_CREDENTIAL_COLUMNS}, s.secret_hash, s.secret_sealed \
                 FROM credential_secrets s JOIN credentials c ON c.id = s.credential_id \
                 WHERE s.kind = $1 AND s.lookup_key = $2 AND c.revoked_at IS NULL"
            )),
            sealed_secrets: "SELECT kind, lookup_key, credential_id, secret_sealed \
                 FROM credential_secrets WHERE secret_sealed IS NOT NULL \
                 ORDER BY kind, lookup_key"
                .to_string(),
            reseal_secret: sql("UPDATE credential_secrets SET secret_sealed = $1 \
                 WHERE kind = $2 AND lookup_key = $3 AND secret_sealed = $4"),
            sealed_temporary_keys: "SELECT access_key, secret_key_sealed \
                 FROM huawei_temporary_credentials ORDER BY access_key"
                .to_string(),
            reseal_temporary_key: sql(
                "UPDATE huawei_temporary_credentials SET secret_key_sealed = $1 \
                 WHERE access_key = $2 AND secret_key_sealed = $3",
            ),
            insert_temporary_key: format!(
                "INSERT INTO huawei_temporary_credentials (access_key, credential_id, \
                 secret_key_sealed, security_token_hash, created_at, expires_at) VALUES ({})",
                numbered(6)
            ),
            temporary_key: sql(&format!(
                "SELECT {JOINED_CREDENTIAL_COLUMNS}, t.access_key, t.secret_key_sealed, \
                 t.security_token_hash, t.created_at, t.expires_at \
                 FROM huawei_temporary_credentials t JOIN credentials c ON c.id = t.credential_id \
                 WHERE t.access_key = $1 AND c.revoked_at IS NULL"
            )),
            insert_access_token: format!(
                "INSERT INTO looker_access_tokens ({ACCESS_TOKEN_COLUMNS}) VALUES ({})",
                numbered(7)
            ),
            access_token: sql(&format!(
                "SELECT {JOINED_CREDENTIAL_COLUMNS}, {JOINED_ACCESS_TOKEN_COLUMNS} \
                 FROM looker_access_tokens t JOIN credentials c ON c.id = t.credential_id \
                 WHERE t.token_hash = $1 AND c.revoked_at IS NULL"
            )),
            revoke_access_token: sql("UPDATE looker_access_tokens SET revoked_at = $1 \
                 WHERE token_hash = $2 AND revoked_at IS NULL AND expires_at > $1"),
            delete_expired_access_tokens: sql(
                "DELETE FROM looker_access_tokens WHERE expires_at <= $1",
            ),
        }
    }
}

/// How many columns a session row has.
pub(crate) const SESSION_COLUMN_COUNT: usize = 28;

// ---------------------------------------------------------------------------
// Statements that depend on the request.

/// Collects a statement's parameters and writes their placeholders.
struct Binder<'a> {
    placeholders: Placeholders,
    values: Vec<SqlValue<'a>>,
}

impl<'a> Binder<'a> {
    fn new(placeholders: Placeholders) -> Binder<'a> {
        Binder {
            placeholders,
            values: Vec::new(),
        }
    }

    /// Adds `value` and returns its placeholder.
    fn bind(&mut self, value: SqlValue<'a>) -> String {
        self.values.push(value);
        self.placeholders.nth(self.values.len())
    }
}

/// The `WHERE` clause (possibly empty) of a listing's filters. The text
/// depends only on which filters are set, so statement caches serve it.
/// `cursor` is the query's own, or none for a count.
fn filter_clause<'a>(
    query: &'a SessionQuery,
    cursor: Option<&'a Pfid>,
    binder: &mut Binder<'a>,
) -> String {
    let open = open_statuses();
    let mut conditions: Vec<String> = Vec::new();
    let mut now: Option<String> = None;
    let mut now = |binder: &mut Binder<'a>| -> String {
        now.get_or_insert_with(|| binder.bind(SqlValue::time(query.now)))
            .clone()
    };
    if let Some(store) = &query.identity_store_id {
        let store = binder.bind(SqlValue::text(store));
        conditions.push(format!("identity_store_id = {store}"));
    }
    if let Some(user) = &query.user_id {
        let user = binder.bind(SqlValue::text(user));
        conditions.push(format!("user_id = {user}"));
    }
    match query.status {
        None => {}
        // Ended by a logout, or open but expired.
        Some(Status::Complete) => {
            let status = binder.bind(SqlValue::text(Status::Complete.as_str()));
            let now = now(binder);
            conditions.push(format!(
                "(status = {status} OR (status IN {open} AND expires_at <= {now}))"
            ));
        }
        Some(Status::Revoked) => {
            let status = binder.bind(SqlValue::text(Status::Revoked.as_str()));
            conditions.push(format!("status = {status}"));
        }
        // An open status, not yet expired.
        Some(open_status) => {
            let status = binder.bind(SqlValue::text(open_status.as_str()));
            let now = now(binder);
            conditions.push(format!("status = {status} AND expires_at > {now}"));
        }
    }
    match query.live {
        None => {}
        Some(true) => {
            let now = now(binder);
            conditions.push(format!("status IN {open} AND expires_at > {now}"));
        }
        Some(false) => {
            let now = now(binder);
            conditions.push(format!("NOT (status IN {open} AND expires_at > {now})"));
        }
    }
    if let Some(cursor) = cursor {
        let operator = match query.order {
            SessionOrder::NewestFirst => "<",
            SessionOrder::OldestFirst => ">",
        };
        let cursor = binder.bind(SqlValue::text(cursor.as_str()));
        conditions.push(format!("id {operator} {cursor}"));
    }
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// The statement and parameters of a listing.
pub(crate) fn listing(
    query: &SessionQuery,
    placeholders: Placeholders,
) -> (String, Vec<SqlValue<'_>>) {
    let mut binder = Binder::new(placeholders);
    let clause = filter_clause(query, query.cursor.as_ref(), &mut binder);
    let order = match query.order {
        SessionOrder::NewestFirst => "DESC",
        SessionOrder::OldestFirst => "ASC",
    };
    let limit = binder.bind(SqlValue::Integer(i64::from(query.limit)));
    let offset = binder.bind(SqlValue::Integer(i64::from(query.offset)));
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions{clause} ORDER BY id {order} \
         LIMIT {limit} OFFSET {offset}"
    );
    (sql, binder.values)
}

/// The statement and parameters counting a listing's matches (its order,
/// cursor, offset and limit play no part).
pub(crate) fn count(
    query: &SessionQuery,
    placeholders: Placeholders,
) -> (String, Vec<SqlValue<'_>>) {
    let mut binder = Binder::new(placeholders);
    let clause = filter_clause(query, None, &mut binder);
    (
        format!("SELECT COUNT(*) FROM sessions{clause}"),
        binder.values,
    )
}

/// The `UPDATE` revoking every session of the request's user live at its
/// `now` (in its store, but its exception), returning their ids.
pub(crate) fn revoke_user_sessions(
    request: &RevokeUserSessions,
    placeholders: Placeholders,
) -> (String, Vec<SqlValue<'_>>) {
    let mut binder = Binder::new(placeholders);
    let revoked = binder.bind(SqlValue::text(Status::Revoked.as_str()));
    let now = binder.bind(SqlValue::time(request.now));
    let user = binder.bind(SqlValue::text(&request.user_id));
    let mut sql = format!(
        "UPDATE sessions SET status = {revoked}, ended_at = {now}, version = version + 1 \
         WHERE user_id = {user} AND status IN {open} AND expires_at > {now}",
        open = open_statuses(),
    );
    if let Some(store) = &request.identity_store_id {
        let store = binder.bind(SqlValue::text(store));
        sql.push_str(&format!(" AND identity_store_id = {store}"));
    }
    if let Some(except) = &request.except_session_id {
        let except = binder.bind(SqlValue::text(except.as_str()));
        sql.push_str(&format!(" AND id <> {except}"));
    }
    sql.push_str(" RETURNING id");
    (sql, binder.values)
}

/// The `UPDATE` revoking those sessions of a user in a store that are live
/// at `$1` (`$2` the store, `$3` the user) and whose ids `id_set` admits
/// (a condition on `id` in the backend's form: a list or an array),
/// returning their ids. One statement: the whole set is revoked
/// atomically, and a row changed concurrently is judged live or not on
/// its newest version.
pub(crate) fn revoke_sessions(placeholders: Placeholders, id_set: &str) -> String {
    placeholders.rewrite(&format!(
        "UPDATE sessions SET status = '{revoked}', ended_at = $1, version = version + 1 \
         WHERE identity_store_id = $2 AND user_id = $3 AND status IN {open} \
         AND expires_at > $1 AND id {id_set} RETURNING id",
        revoked = Status::Revoked.as_str(),
        open = open_statuses(),
    ))
}

// ---------------------------------------------------------------------------
// Values.

pub(crate) fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        StoreError::Internal(format!(
            "session version {version} is beyond what the store holds"
        ))
    })
}

/// The at / ip / user agent columns of an interaction.
fn interaction_values(interaction: Option<&Interaction>) -> [SqlValue<'_>; 3] {
    match interaction {
        None => [SqlValue::Null, SqlValue::Null, SqlValue::Null],
        Some(interaction) => [
            SqlValue::time(interaction.at),
            interaction.ip.map_or(SqlValue::Null, |ip| {
                SqlValue::Text(Cow::Owned(ip.to_string()))
            }),
            SqlValue::optional_text(interaction.user_agent.as_deref()),
        ],
    }
}

/// Every column of a session row, in [`SESSION_COLUMNS`] order: `$1` to
/// `$28` of [`Statements::insert_session`] and
/// [`Statements::replace_session`].
pub(crate) fn session_values(session: &Session) -> Result<Vec<SqlValue<'_>>, StoreError> {
    let mut values = Vec::with_capacity(SESSION_COLUMN_COUNT + 1);
    values.extend([
        SqlValue::text(session.id.as_str()),
        SqlValue::text(&session.identity_store_id),
        SqlValue::optional_text(session.user_id.as_deref()),
        SqlValue::text(session.status.as_str()),
        SqlValue::text(session.session_type.as_str()),
        SqlValue::optional_text(session.credentials_type.as_deref()),
        SqlValue::time(session.created_at),
        SqlValue::time(session.expires_at),
        SqlValue::optional_time(session.extended_at),
        SqlValue::Integer(i64::from(session.extended_count)),
    ]);
    values.extend(interaction_values(session.first_seen.as_ref()));
    values.extend(interaction_values(session.last_seen.as_ref()));
    let enrichment = &session.enrichment;
    values.extend([
        SqlValue::optional_text(enrichment.browser.as_deref()),
        SqlValue::optional_text(enrichment.operating_system.as_deref()),
        SqlValue::optional_text(enrichment.city.as_deref()),
        SqlValue::optional_text(enrichment.state.as_deref()),
        SqlValue::optional_text(enrichment.country.as_deref()),
        SqlValue::optional_text(session.sudo_user_id.as_deref()),
        SqlValue::optional_pfid(session.account_id.as_ref()),
        SqlValue::optional_pfid(session.domain_id.as_ref()),
        SqlValue::optional_pfid(session.device_id.as_ref()),
        SqlValue::optional_text(session.title.as_deref()),
        SqlValue::optional_time(session.ended_at),
        SqlValue::Integer(version_to_sql(session.version)?),
    ]);
    Ok(values)
}

/// [`session_values`] followed by `$29`, the version the row must still
/// have: the parameters of [`Statements::replace_session`].
pub(crate) fn replace_values(
    session: &Session,
    expected_version: u64,
) -> Result<Vec<SqlValue<'_>>, StoreError> {
    let mut values = session_values(session)?;
    values.push(SqlValue::Integer(version_to_sql(expected_version)?));
    Ok(values)
}

/// Every column [`Statements::insert_credential`] writes, in its order.
pub(crate) fn credential_values(credential: &Credential) -> Vec<SqlValue<'_>> {
    vec![
        SqlValue::text(credential.id.as_str()),
        SqlValue::optional_text(credential.name.as_deref()),
        SqlValue::text(credential.role.as_str()),
        SqlValue::optional_text(credential.identity_store_id.as_deref()),
        SqlValue::optional_text(credential.user_id.as_deref()),
        credential
            .rate_limit
            .map_or(SqlValue::Null, |limit| SqlValue::Integer(i64::from(limit))),
        SqlValue::time(credential.created_at),
        SqlValue::optional_time(credential.revoked_at),
    ]
}

/// Every column [`Statements::insert_credential_secret`] writes for one
/// secret of `credential`, in its order.
pub(crate) fn secret_values<'a>(
    credential: &'a Pfid,
    secret: &'a StoredSecret,
) -> Vec<SqlValue<'a>> {
    vec![
        SqlValue::text(secret.kind.as_str()),
        SqlValue::text(&secret.lookup_key),
        SqlValue::text(credential.as_str()),
        secret
            .hash
            .as_ref()
            .map_or(SqlValue::Null, |hash| SqlValue::bytes(hash.as_bytes())),
        secret
            .sealed
            .as_deref()
            .map_or(SqlValue::Null, SqlValue::bytes),
    ]
}

/// Every column [`Statements::insert_access_token`] writes, in its order.
pub(crate) fn access_token_values(token: &AccessToken) -> Vec<SqlValue<'_>> {
    vec![
        SqlValue::bytes(token.token_hash.as_bytes()),
        SqlValue::text(token.credential_id.as_str()),
        SqlValue::time(token.created_at),
        SqlValue::time(token.expires_at),
        SqlValue::optional_time(token.revoked_at),
        SqlValue::optional_text(token.acting_user_id.as_deref()),
        SqlValue::optional_pfid(token.session_id.as_ref()),
    ]
}

/// Every column [`Statements::insert_temporary_key`] writes, in its order.
pub(crate) fn temporary_key_values(key: &TemporaryHuaweiKey) -> Vec<SqlValue<'_>> {
    vec![
        SqlValue::text(&key.access_key),
        SqlValue::text(key.credential_id.as_str()),
        SqlValue::bytes(&key.secret_key_sealed),
        SqlValue::bytes(key.security_token.as_bytes()),
        SqlValue::time(key.created_at),
        SqlValue::time(key.expires_at),
    ]
}

/// The parameters of the statement that replaces `value` with `resealed`:
/// [`Statements::reseal_secret`] or [`Statements::reseal_temporary_key`].
pub(crate) fn reseal<'a>(
    statements: &'a Statements,
    value: &'a SealedValue,
    resealed: &'a [u8],
) -> (&'a str, Vec<SqlValue<'a>>) {
    match &value.place {
        SealedPlace::Secret { kind, lookup_key } => (
            &statements.reseal_secret,
            vec![
                SqlValue::bytes(resealed),
                SqlValue::text(kind),
                SqlValue::text(lookup_key),
                SqlValue::bytes(&value.sealed),
            ],
        ),
        SealedPlace::TemporaryHuaweiKey { access_key } => (
            &statements.reseal_temporary_key,
            vec![
                SqlValue::bytes(resealed),
                SqlValue::text(access_key),
                SqlValue::bytes(&value.sealed),
            ],
        ),
    }
}

/// A sealed credential secret from a row of [`Statements::sealed_secrets`].
pub(crate) fn decode_sealed_secret<R: StoredRow + ?Sized>(
    row: &R,
) -> Result<SealedValue, StoreError> {
    let columns = Columns::of(row, "credential secret");
    Ok(SealedValue {
        place: SealedPlace::Secret {
            kind: columns.text(0, "kind")?,
            lookup_key: columns.text(1, "lookup_key")?,
        },
        context: columns.text(2, "credential_id")?.into_bytes(),
        sealed: columns.bytes(3, "secret_sealed")?,
    })
}

/// A temporary key's sealed secret key from a row of
/// [`Statements::sealed_temporary_keys`].
pub(crate) fn decode_sealed_temporary_key<R: StoredRow + ?Sized>(
    row: &R,
) -> Result<SealedValue, StoreError> {
    let columns = Columns::of(row, "temporary key");
    let access_key = columns.text(0, "access_key")?;
    Ok(SealedValue {
        context: TemporaryHuaweiKey::seal_context(&access_key),
        place: SealedPlace::TemporaryHuaweiKey { access_key },
        sealed: columns.bytes(1, "secret_key_sealed")?,
    })
}

// ---------------------------------------------------------------------------
// Constraints.

/// A session insert's failure, a duplicate naming the session.
pub(crate) fn duplicate_session(error: StoreError, id: &Pfid) -> StoreError {
    match error {
        StoreError::Duplicate(_) => StoreError::Duplicate(format!("session {id}")),
        other => other,
    }
}

/// A credential insert's failure, a duplicate naming the credential.
pub(crate) fn duplicate_credential(error: StoreError, credential: &Credential) -> StoreError {
    match error {
        StoreError::Duplicate(_) => StoreError::Duplicate(format!("credential {}", credential.id)),
        other => other,
    }
}

/// A secret insert's failure, a duplicate naming the secret's kind (never
/// its lookup key: for a bearer token that is the token's hash).
pub(crate) fn duplicate_secret(error: StoreError, secret: &StoredSecret) -> StoreError {
    match error {
        StoreError::Duplicate(_) => {
            StoreError::Duplicate(format!("a credential with this {} secret", secret.kind))
        }
        other => other,
    }
}

/// A temporary key insert's failure, a duplicate naming the access key.
pub(crate) fn duplicate_temporary_key(error: StoreError, key: &TemporaryHuaweiKey) -> StoreError {
    match error {
        StoreError::Duplicate(_) => {
            StoreError::Duplicate(format!("Huawei temporary access key {}", key.access_key))
        }
        other => other,
    }
}

/// An access token insert's failure, a duplicate saying so.
pub(crate) fn duplicate_access_token(error: StoreError) -> StoreError {
    match error {
        StoreError::Duplicate(_) => {
            StoreError::Duplicate("an access token with this hash".to_string())
        }
        other => other,
    }
}

/// A count read back, which cannot be negative.
pub(crate) fn count_from_sql(count: i64) -> Result<u64, StoreError> {
    u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("a negative count {count}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::{new_id, now};

    fn query() -> SessionQuery {
        SessionQuery {
            identity_store_id: Some("store".into()),
            user_id: Some("user".into()),
            status: Some(Status::Complete),
            live: Some(false),
            now: now(),
            order: SessionOrder::OldestFirst,
            cursor: Some(new_id("store", now())),
            offset: 3,
            limit: 10,
        }
    }

    #[test]
    fn every_placeholder_of_a_listing_has_its_value() {
        for placeholders in [Placeholders::Question, Placeholders::Dollar] {
            let query = query();
            let (sql, values) = listing(&query, placeholders);
            for n in 1..=values.len() {
                assert!(sql.contains(&placeholders.nth(n)), "{n} in {sql}");
            }
            assert!(!sql.contains(&placeholders.nth(values.len() + 1)), "{sql}");
            // `now` is bound once, however many conditions use it.
            let times = values
                .iter()
                .filter(|value| **value == SqlValue::time(now()))
                .count();
            assert_eq!(times, 1, "{values:?}");
        }
    }

    #[test]
    fn sqlite_statements_have_no_dollar_left() {
        let statements = Statements::new(Placeholders::Question);
        let text = format!("{statements:?}");
        assert!(!text.contains('$'), "{text}");
        assert!(statements.replace_session.contains("?29"));
        let (sql, _) = count(&query(), Placeholders::Question);
        assert!(!sql.contains('$') && sql.contains("?1"), "{sql}");
    }

    #[test]
    fn a_session_has_as_many_values_as_columns() {
        let session = crate::store::conformance::full_session();
        let values = session_values(&session).unwrap();
        assert_eq!(values.len(), SESSION_COLUMNS.split(", ").count());
        assert_eq!(values.len(), SESSION_COLUMN_COUNT);
    }

    #[test]
    fn column_lists_match_what_the_decoders_read() {
        assert_eq!(
            CREDENTIAL_COLUMNS.split(", ").count(),
            CREDENTIAL_COLUMN_COUNT
        );
        assert_eq!(
            JOINED_CREDENTIAL_COLUMNS.replace("c.", ""),
            CREDENTIAL_COLUMNS
        );
        assert_eq!(
            JOINED_ACCESS_TOKEN_COLUMNS.replace("t.", ""),
            ACCESS_TOKEN_COLUMNS
        );
        let token = crate::store::conformance::access_token(
            &crate::store::conformance::credential_with_secrets("columns").0,
            "columns",
            1,
        );
        assert_eq!(
            access_token_values(&token).len(),
            ACCESS_TOKEN_COLUMNS.split(", ").count()
        );
    }

    #[test]
    fn a_duplicate_secret_is_named_by_its_kind_only() {
        let secret = StoredSecret {
            kind: crate::domain::credential::SecretKind("native"),
            lookup_key: "0123abcd".into(),
            hash: None,
            sealed: None,
        };
        let StoreError::Duplicate(message) = duplicate_secret(
            StoreError::Duplicate("credential_secrets_pkey".into()),
            &secret,
        ) else {
            panic!("still a duplicate");
        };
        assert_eq!(message, "a credential with this native secret");
        assert!(matches!(
            duplicate_secret(StoreError::Unavailable("down".into()), &secret),
            StoreError::Unavailable(_)
        ));
    }
}

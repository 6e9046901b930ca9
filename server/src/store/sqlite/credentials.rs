//! [`CredentialStore`] on SQLite: credentials, temporary Huawei keys and
//! Looker access tokens. Lookups run on the caller's thread against a
//! reader connection; writes go to the writer thread.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, Row, params_from_iter};

use super::{STATEMENTS, SqliteStore, db_error, watch};
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::domain::{Timestamp, to_unix_millis};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::coherence::Coherence;
use crate::store::rows::{
    CREDENTIAL_COLUMN_COUNT, decode_access_token, decode_credential, decode_secret,
    decode_temporary_key,
};
use crate::store::sql;
use crate::store::{CredentialStore, SealedValue, StoreError};

impl SqliteStore {
    /// The first row `sql` finds for `key`, read by `decode`.
    fn find_one<K, T>(
        &self,
        sql: &str,
        key: K,
        decode: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError>
    where
        K: rusqlite::ToSql,
    {
        let reader = self.reader();
        let mut statement = reader.prepare_cached(sql).map_err(db_error)?;
        let mut rows = statement.query([key]).map_err(db_error)?;
        match rows.next().map_err(db_error)? {
            Some(row) => decode(row).map(Some),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError> {
        let (credential, secrets) = (credential.clone(), secrets.to_vec());
        // One write, so one savepoint: a secret that clashes leaves
        // nothing of the credential behind.
        self.writer
            .write(move |writer| {
                let values = sql::credential_values(&credential);
                execute(writer, &STATEMENTS.insert_credential, values)
                    .map_err(|error| sql::duplicate_credential(error, &credential))?;
                for secret in &secrets {
                    let values = sql::secret_values(&credential.id, secret);
                    execute(writer, &STATEMENTS.insert_credential_secret, values)
                        .map_err(|error| sql::duplicate_secret(error, secret))?;
                }
                Ok(())
            })
            .await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let reader = self.reader();
        let mut statement = reader
            .prepare_cached(&STATEMENTS.list_credentials)
            .map_err(db_error)?;
        let mut rows = statement.query([]).map_err(db_error)?;
        let mut credentials = Vec::new();
        while let Some(row) = rows.next().map_err(db_error)? {
            credentials.push(decode_credential(row)?);
        }
        Ok(credentials)
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        self.find_one(&STATEMENTS.credential, id.as_str(), |row| {
            decode_credential(row)
        })
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        let id = *id;
        self.writer
            .write(move |writer| {
                let values = vec![
                    sql::SqlValue::Integer(to_unix_millis(at)),
                    sql::SqlValue::Text(id.as_str().into()),
                ];
                let revoked = execute(writer, &STATEMENTS.revoke_credential, values)? == 1;
                if revoked {
                    watch::bump(writer)?;
                }
                Ok(revoked)
            })
            .await
    }

    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError> {
        let reader = self.reader();
        let mut statement = reader
            .prepare_cached(&STATEMENTS.credential_by_secret)
            .map_err(db_error)?;
        let mut rows = statement
            .query([kind.as_str(), lookup_key])
            .map_err(db_error)?;
        match rows.next().map_err(db_error)? {
            Some(row) => Ok(Some((
                decode_credential(row)?,
                decode_secret(row, CREDENTIAL_COLUMN_COUNT, kind, lookup_key)?,
            ))),
            None => Ok(None),
        }
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        self.writer
            .write(move |writer| {
                let values = sql::temporary_key_values(&key);
                execute(writer, &STATEMENTS.insert_temporary_key, values)
                    .map_err(|error| sql::duplicate_temporary_key(error, &key))
                    .map(drop)
            })
            .await
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        self.find_one(&STATEMENTS.temporary_key, access_key, |row| {
            Ok((decode_credential(row)?, decode_temporary_key(row)?))
        })
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.writer
            .write(move |writer| {
                let values = sql::access_token_values(&token);
                execute(writer, &STATEMENTS.insert_access_token, values)
                    .map_err(sql::duplicate_access_token)
                    .map(drop)
            })
            .await
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        self.find_one(
            &STATEMENTS.access_token,
            hash.as_bytes().as_slice(),
            |row| {
                let credential = decode_credential(row)?;
                let token = decode_access_token(row, CREDENTIAL_COLUMN_COUNT)?;
                Ok((token, credential))
            },
        )
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let hash = *hash;
        self.writer
            .write(move |writer| {
                let values = vec![
                    sql::SqlValue::Integer(to_unix_millis(at)),
                    sql::SqlValue::Bytes(hash.as_bytes().as_slice().into()),
                ];
                let revoked = execute(writer, &STATEMENTS.revoke_access_token, values)? == 1;
                if revoked {
                    watch::bump(writer)?;
                }
                Ok(revoked)
            })
            .await
    }

    async fn sealed_values(&self) -> Result<Vec<SealedValue>, StoreError> {
        let reader = self.reader();
        let mut values = Vec::new();
        let mut secrets = reader
            .prepare_cached(&STATEMENTS.sealed_secrets)
            .map_err(db_error)?;
        let mut rows = secrets.query([]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            values.push(sql::decode_sealed_secret(row)?);
        }
        let mut keys = reader
            .prepare_cached(&STATEMENTS.sealed_temporary_keys)
            .map_err(db_error)?;
        let mut rows = keys.query([]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            values.push(sql::decode_sealed_temporary_key(row)?);
        }
        Ok(values)
    }

    async fn reseal(&self, value: &SealedValue, resealed: &[u8]) -> Result<bool, StoreError> {
        let (value, resealed) = (value.clone(), resealed.to_vec());
        self.writer
            .write(move |writer| {
                let (statement, values) = sql::reseal(&STATEMENTS, &value, &resealed);
                Ok(execute(writer, statement, values)? == 1)
            })
            .await
    }

    fn coherence(&self) -> Arc<Coherence> {
        self.coherence
            .get_or_init(|| watch::start(&self.location, &self.writer_id))
            .clone()
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .write(move |writer| {
                let values = vec![sql::SqlValue::Integer(to_unix_millis(now))];
                let deleted = execute(writer, &STATEMENTS.delete_expired_access_tokens, values)?;
                Ok(deleted as u64)
            })
            .await
    }
}

/// Runs one cached statement on the writer; how many rows it changed.
fn execute(
    writer: &Connection,
    statement: &str,
    values: Vec<sql::SqlValue<'_>>,
) -> Result<usize, StoreError> {
    writer
        .prepare_cached(statement)
        .map_err(db_error)?
        .execute(params_from_iter(values))
        .map_err(db_error)
}

//! [`CredentialStore`] on PostgreSQL: credentials, temporary Huawei keys
//! and Looker access tokens, with [`super::sql`]'s statements.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_postgres::Row;

use super::{PostgresStore, STATEMENTS, db_error, params, watch};
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
use crate::store::sql::{self, SqlValue};
use crate::store::{CredentialStore, SealedValue, StoreError};

impl PostgresStore {
    /// The row `sql` finds for its one parameter `key`, if any.
    async fn find_one(&self, sql: &str, key: SqlValue<'_>) -> Result<Option<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(db_error)?;
        client
            .query_opt(&statement, &params(&[key]))
            .await
            .map_err(db_error)
    }

    /// Runs one cached statement; how many rows it changed.
    async fn execute(&self, sql: &str, values: &[SqlValue<'_>]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(db_error)?;
        client
            .execute(&statement, &params(values))
            .await
            .map_err(db_error)
    }
}

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        let insert = transaction
            .prepare_cached(&STATEMENTS.insert_credential)
            .await
            .map_err(db_error)?;
        transaction
            .execute(&insert, &params(&sql::credential_values(credential)))
            .await
            .map_err(|error| sql::duplicate_credential(db_error(error), credential))?;
        let insert_secret = transaction
            .prepare_cached(&STATEMENTS.insert_credential_secret)
            .await
            .map_err(db_error)?;
        for secret in secrets {
            transaction
                .execute(
                    &insert_secret,
                    &params(&sql::secret_values(&credential.id, secret)),
                )
                .await
                .map_err(|error| sql::duplicate_secret(db_error(error), secret))?;
        }
        // Dropping the transaction on an error above rolls it back.
        transaction.commit().await.map_err(db_error)
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&STATEMENTS.list_credentials)
            .await
            .map_err(db_error)?;
        let rows = client.query(&statement, &[]).await.map_err(db_error)?;
        rows.iter().map(decode_credential).collect()
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        let row = self
            .find_one(&STATEMENTS.credential, SqlValue::Text(id.as_str().into()))
            .await?;
        row.as_ref().map(decode_credential).transpose()
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        let values = [
            SqlValue::Integer(to_unix_millis(at)),
            SqlValue::Text(id.as_str().into()),
        ];
        Ok(self.execute(&STATEMENTS.revoke_credential, &values).await? == 1)
    }

    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&STATEMENTS.credential_by_secret)
            .await
            .map_err(db_error)?;
        let Some(row) = client
            .query_opt(&statement, &[&kind.as_str(), &lookup_key])
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some((
            decode_credential(&row)?,
            decode_secret(&row, CREDENTIAL_COLUMN_COUNT, kind, lookup_key)?,
        )))
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        let values = sql::temporary_key_values(key);
        self.execute(&STATEMENTS.insert_temporary_key, &values)
            .await
            .map_err(|error| sql::duplicate_temporary_key(error, key))?;
        Ok(())
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        let Some(row) = self
            .find_one(&STATEMENTS.temporary_key, SqlValue::Text(access_key.into()))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            decode_credential(&row)?,
            decode_temporary_key(&row)?,
        )))
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        let values = sql::access_token_values(token);
        self.execute(&STATEMENTS.insert_access_token, &values)
            .await
            .map_err(sql::duplicate_access_token)?;
        Ok(())
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        let Some(row) = self
            .find_one(
                &STATEMENTS.access_token,
                SqlValue::Bytes(hash.as_bytes().as_slice().into()),
            )
            .await?
        else {
            return Ok(None);
        };
        let credential = decode_credential(&row)?;
        let token = decode_access_token(&row, CREDENTIAL_COLUMN_COUNT)?;
        Ok(Some((token, credential)))
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let values = [
            SqlValue::Integer(to_unix_millis(at)),
            SqlValue::Bytes(hash.as_bytes().as_slice().into()),
        ];
        Ok(self
            .execute(&STATEMENTS.revoke_access_token, &values)
            .await?
            == 1)
    }

    async fn sealed_values(&self) -> Result<Vec<SealedValue>, StoreError> {
        let client = self.client().await?;
        let mut values = Vec::new();
        let secrets = client
            .query(&STATEMENTS.sealed_secrets, &[])
            .await
            .map_err(db_error)?;
        for row in &secrets {
            values.push(sql::decode_sealed_secret(row)?);
        }
        let keys = client
            .query(&STATEMENTS.sealed_temporary_keys, &[])
            .await
            .map_err(db_error)?;
        for row in &keys {
            values.push(sql::decode_sealed_temporary_key(row)?);
        }
        Ok(values)
    }

    async fn reseal(&self, value: &SealedValue, resealed: &[u8]) -> Result<bool, StoreError> {
        let (statement, values) = sql::reseal(&STATEMENTS, value, resealed);
        Ok(self.execute(statement, &values).await? == 1)
    }

    fn coherence(&self) -> Arc<Coherence> {
        self.coherence
            .get_or_init(|| watch::start(self.config.clone()))
            .clone()
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        let values = [SqlValue::Integer(to_unix_millis(now))];
        self.execute(&STATEMENTS.delete_expired_access_tokens, &values)
            .await
    }
}

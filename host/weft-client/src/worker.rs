//! The worker protocol (Coopr's provisioner API) from the worker's side, for `weft worker`.

use reqwest::{Method, StatusCode};
use weft_model::{
    FinishRequest, TakeRequest, TaskAssignment, TaskHeartbeat, TaskLogBatch, WorkerHeartbeat,
    WorkerRegistration,
};

use crate::{Client, ClientError};

fn body<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, ClientError> {
    serde_json::to_value(value).map_err(|e| ClientError::Decode(e.to_string()))
}

/// `Ok(false)` for an answer with status `lost`, the error otherwise.
fn unless(status: StatusCode, result: Result<(), ClientError>) -> Result<bool, ClientError> {
    match result {
        Ok(()) => Ok(true),
        Err(ClientError::Api { status: s, .. }) if s == status => Ok(false),
        Err(e) => Err(e),
    }
}

impl Client {
    /// `PUT /v2/provisioners/{id}`: registers this worker with its capacity.
    pub async fn register_worker(
        &self,
        id: &str,
        registration: &WorkerRegistration,
    ) -> Result<(), ClientError> {
        self.request(
            Method::PUT,
            &format!("/v2/provisioners/{id}"),
            Some(&body(registration)?),
        )
        .await
    }

    /// `POST /v2/provisioners/{id}/heartbeat`; `false` when the server does not know the worker
    /// (it registers again).
    pub async fn worker_heartbeat(
        &self,
        id: &str,
        heartbeat: &WorkerHeartbeat,
    ) -> Result<bool, ClientError> {
        let sent = self
            .request(
                Method::POST,
                &format!("/v2/provisioners/{id}/heartbeat"),
                Some(&body(heartbeat)?),
            )
            .await;
        unless(StatusCode::NOT_FOUND, sent)
    }

    /// `POST /v2/tasks/take`: the next task, or `None` (204).
    pub async fn take_task(
        &self,
        take: &TakeRequest,
    ) -> Result<Option<TaskAssignment>, ClientError> {
        self.request(Method::POST, "/v2/tasks/take", Some(&body(take)?))
            .await
    }

    /// `POST /v2/tasks/heartbeat`; `false` when the lease is lost (417).
    pub async fn task_heartbeat(&self, heartbeat: &TaskHeartbeat) -> Result<bool, ClientError> {
        let sent = self
            .request(Method::POST, "/v2/tasks/heartbeat", Some(&body(heartbeat)?))
            .await;
        unless(StatusCode::EXPECTATION_FAILED, sent)
    }

    /// `POST /v2/tasks/log`; `false` when the lease is lost (417).
    pub async fn task_log(&self, batch: &TaskLogBatch) -> Result<bool, ClientError> {
        let sent = self
            .request(Method::POST, "/v2/tasks/log", Some(&body(batch)?))
            .await;
        unless(StatusCode::EXPECTATION_FAILED, sent)
    }

    /// `POST /v2/tasks/finish`; `false` when the lease expired and the report was dropped (417).
    pub async fn finish_task(&self, finish: &FinishRequest) -> Result<bool, ClientError> {
        let sent = self
            .request(Method::POST, "/v2/tasks/finish", Some(&body(finish)?))
            .await;
        unless(StatusCode::EXPECTATION_FAILED, sent)
    }

    /// `GET /v2/tasks/components/{digest}`: a plugin component's bytes.
    pub async fn task_component(&self, digest: &str) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(&format!("/v2/tasks/components/{digest}"))
            .await
    }

    /// `GET /v2/tasks/resources/{digest}`: a live plugin resource's bytes.
    pub async fn task_resource(&self, digest: &str) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(&format!("/v2/tasks/resources/{digest}"))
            .await
    }

    /// The bytes `GET path` answers with.
    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ClientError::Api {
                status,
                message: response.text().await.unwrap_or_default(),
                field: None,
            });
        }
        Ok(response
            .bytes()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?
            .to_vec())
    }
}

//! The client against the mini-program sandbox over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use chrono::TimeDelta;
use topup_core::{ManualClock, Secret, Timestamp};
use topup_sandbox::wechat_mp::{MiniProgramSandbox, MiniProgramSandboxConfig};
use topup_wechat::{MiniProgramClient, MiniProgramConfig, SubscribeMessage, WechatError};

struct Setup {
    sandbox: MiniProgramSandbox,
    clock: ManualClock,
    base: String,
}

async fn setup() -> Setup {
    let clock = ManualClock::new(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
    let sandbox = MiniProgramSandbox::new(
        MiniProgramSandboxConfig::new("wxtestapp", "test-secret"),
        Arc::new(clock.clone()),
    );
    let served = sandbox.clone();
    let server = HttpServer::new(move || {
        let s = served.clone();
        App::new().service(web::scope("/sandbox/wechat").configure(move |cfg| s.configure(cfg)))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}/sandbox/wechat", server.addrs()[0]);
    tokio::spawn(server.run());
    Setup {
        sandbox,
        clock,
        base,
    }
}

fn client(setup: &Setup, secret: &str) -> MiniProgramClient {
    MiniProgramClient::new(
        MiniProgramConfig::new("wxtestapp", Secret::new(secret.to_owned()), &setup.base),
        Arc::new(setup.clock.clone()),
    )
    .unwrap()
}

#[actix_web::test]
async fn login_code_exchange_and_its_errors() {
    let setup = setup().await;
    let client = client(&setup, "test-secret");
    let (code, openid) = setup.sandbox.issue_code(None);
    let session = client.code_to_session(&code).await.unwrap();
    assert_eq!(session.openid, openid);
    assert!(session.unionid.is_some());
    assert_eq!(format!("{:?}", session.session_key), "***");
    assert_eq!(
        client.code_to_session(&code).await.unwrap_err(),
        WechatError::CodeUsed
    );
    assert_eq!(
        client.code_to_session("made-up").await.unwrap_err(),
        WechatError::InvalidCode
    );
    let (late, _) = setup.sandbox.issue_code(None);
    setup.clock.advance(TimeDelta::minutes(6));
    assert_eq!(
        client.code_to_session(&late).await.unwrap_err(),
        WechatError::InvalidCode
    );
}

#[actix_web::test]
async fn wrong_secret_is_a_credentials_error_that_does_not_leak_the_secret() {
    let setup = setup().await;
    let client = client(&setup, "wrong-secret-value");
    let (code, _) = setup.sandbox.issue_code(None);
    let error = client.code_to_session(&code).await.unwrap_err();
    assert_eq!(error, WechatError::Credentials(40125));
    assert!(!format!("{error} {error:?}").contains("wrong-secret-value"));
}

#[actix_web::test]
async fn access_token_is_cached_and_refreshed_early() {
    let setup = setup().await;
    let client = client(&setup, "test-secret");
    let first = client.access_token().await.unwrap();
    let again = client.access_token().await.unwrap();
    assert_eq!(first.expose(), again.expose());
    assert_eq!(setup.sandbox.tokens_issued(), 1);
    // Inside the 5-minute margin before expiry the client fetches a new one.
    setup.clock.advance(TimeDelta::seconds(7200 - 299));
    let renewed = client.access_token().await.unwrap();
    assert_eq!(
        setup.sandbox.tokens_issued(),
        1,
        "the stable token is still live"
    );
    assert!(setup.sandbox.token_is_valid(renewed.expose()));
    setup.clock.advance(TimeDelta::seconds(300));
    let next = client.access_token().await.unwrap();
    assert_ne!(next.expose(), first.expose());
    assert!(setup.sandbox.token_is_valid(next.expose()));
    // A rejected token is replaced on demand.
    let forced = client.refresh_access_token(&next).await.unwrap();
    assert_ne!(forced.expose(), next.expose());
    assert!(setup.sandbox.token_is_valid(forced.expose()));
}

#[actix_web::test]
async fn a_silent_server_is_a_timeout() {
    // Accepts connections but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = MiniProgramConfig::new(
        "wxtestapp",
        Secret::new("s".to_owned()),
        format!("http://{addr}"),
    );
    config.request_timeout = Duration::from_millis(200);
    let client = MiniProgramClient::new(
        config,
        Arc::new(ManualClock::new(
            Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
        )),
    )
    .unwrap();
    assert_eq!(
        client.code_to_session("x").await.unwrap_err(),
        WechatError::Timeout
    );
}

fn refund_message(openid: &str) -> SubscribeMessage {
    SubscribeMessage {
        touser: openid.to_owned(),
        template_id: "sbx-refund-succeeded".into(),
        page: Some("pages/orders/detail?id=01HX".into()),
        data: [
            ("character_string1", "01HX"),
            ("amount2", "¥3.00"),
            ("time3", "2026-01-01 08:00"),
            ("thing4", "充值失败"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        miniprogram_state: Some("formal".into()),
        lang: Some("zh_CN".into()),
    }
}

#[actix_web::test]
async fn a_subscribe_message_is_sent_once_with_a_token_refreshed_after_another_process_replaced_it()
{
    let setup = setup().await;
    let client = client(&setup, "test-secret");
    let (_, openid) = setup.sandbox.issue_code(None);
    let message = refund_message(&openid);
    assert_eq!(
        client.send_subscribe_message(&message).await.unwrap_err(),
        WechatError::NotSubscribed
    );
    setup
        .sandbox
        .subscribe(&openid, &["sbx-refund-succeeded".to_owned()], true)
        .unwrap();
    // Another process forces a new token: ours is now rejected with 40001.
    let ours = client.access_token().await.unwrap();
    let other = client_for_another_process(&setup);
    let theirs = other.refresh_access_token(&ours).await.unwrap();
    assert_ne!(theirs.expose(), ours.expose());
    assert!(!setup.sandbox.token_is_valid(ours.expose()));

    client.send_subscribe_message(&message).await.unwrap();
    let inbox = setup.sandbox.messages(Some(&openid));
    assert_eq!(inbox.len(), 1, "delivered exactly once");
    assert_eq!(inbox[0].data["thing4"]["value"], "充值失败");
    // Our client picked up the other process's token instead of forcing yet another.
    assert_eq!(
        client.access_token().await.unwrap().expose(),
        theirs.expose()
    );

    let mut bad = refund_message(&openid);
    bad.data.insert("thing4".into(), "x".repeat(21));
    setup
        .sandbox
        .subscribe(&openid, &["sbx-refund-succeeded".to_owned()], true)
        .unwrap();
    assert!(matches!(
        client.send_subscribe_message(&bad).await.unwrap_err(),
        WechatError::Api { errcode: 47003, .. }
    ));
}

fn client_for_another_process(setup: &Setup) -> MiniProgramClient {
    client(setup, "test-secret")
}

#[actix_web::test]
async fn credentials_set_while_serving_are_used_from_the_next_call() {
    let setup = setup().await;
    // Started with a wrong secret: refused.
    let client = client(&setup, "old-secret");
    let (code, _) = setup.sandbox.issue_code(None);
    assert!(matches!(
        client.code_to_session(&code).await,
        Err(WechatError::Credentials(_))
    ));
    client.set_credentials("wxtestapp".into(), Secret::new("test-secret".into()));
    let (code, openid) = setup.sandbox.issue_code(None);
    assert_eq!(client.code_to_session(&code).await.unwrap().openid, openid);
    client.access_token().await.unwrap();
    // Another app (which the sandbox does not know): the first app's cached token is not
    // reused, WeChat is asked and refuses.
    client.set_credentials("wxother".into(), Secret::new("test-secret".into()));
    assert_eq!(client.app_id(), "wxother");
    assert!(client.access_token().await.is_err());
}

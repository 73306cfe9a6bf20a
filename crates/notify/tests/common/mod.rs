//! The sandbox server and the recharge template the delivery suites share.

use actix_web::{App, HttpServer, web};
use topup_notify::{FieldMapping, TemplateDraft};
use topup_sandbox::wechat_mp::MiniProgramSandbox;

/// Serves the mini-program sandbox on its own port: its base URL.
pub async fn serve(sandbox: MiniProgramSandbox) -> String {
    let server = HttpServer::new(move || {
        let sandbox = sandbox.clone();
        App::new()
            .service(web::scope("/sandbox/wechat").configure(move |cfg| sandbox.configure(cfg)))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let base = format!("http://{}/sandbox/wechat", server.addrs()[0]);
    tokio::spawn(server.run());
    base
}

/// The sandbox app's `sbx-recharge-succeeded` template, as staff map it.
pub fn recharge_template() -> TemplateDraft {
    let field = |key: &str, value: &str| FieldMapping {
        key: key.into(),
        value: value.into(),
    };
    TemplateDraft {
        template_id: "sbx-recharge-succeeded".into(),
        page: "pages/order/index?order_no={order_no}".into(),
        fields: vec![
            field("character_string1", "{order_no}"),
            field("thing2", "{plan}"),
            field("phone_number3", "{phone}"),
            field("time4", "{time}"),
            field("phrase5", "已到账"),
        ],
        miniprogram_state: "formal".into(),
        lang: "zh_CN".into(),
        enabled: true,
    }
}

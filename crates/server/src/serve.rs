//! The composition root: opens the store, builds the app, serves until SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::sync::Arc;

use std::time::Duration;

use actix_web::HttpServer;
use topup_api::AppState;
use topup_api::order_ports::{BIZ_TYPE, OrderPaymentEvents, UserBlocklist, WechatPayments};
use topup_auth::{AppUserService, AuthService};
use topup_core::{Secret, SharedClock, SystemClock};
use topup_orders::{OrderEngine, OrdersService, PaymentPort};
use topup_payment::PaymentService;
use topup_store::{Backend, MongoBackend, SqliteBackend, SqliteOptions, Store};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat, StoreLocation};
use crate::secrets;
use crate::{ServerError, integrations, orders};

/// How often expired log entries, sessions and counters are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log.format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Pretty => builder.with_ansi(std::io::stdout().is_terminal()).init(),
    }
}

fn create_data_dir(config: &Config) -> Result<(), ServerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        // It will hold generated secrets.
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    for dir in [config.data_dir.clone(), config.data_dir.join("secrets")] {
        builder.create(&dir).map_err(|cause| ServerError::DataDir {
            path: dir.display().to_string(),
            cause,
        })?;
    }
    Ok(())
}

async fn open_store(config: &Config) -> Result<Store, ServerError> {
    match config.store_location()? {
        StoreLocation::Sqlite(path) => {
            let options = SqliteOptions::new(path.clone());
            let backend = tokio::task::spawn_blocking(move || SqliteBackend::open(&options))
                .await
                .map_err(|e| ServerError::Config(format!("store start-up failed: {e}")))??;
            tracing::info!(backend = "sqlite", path = %path.display(), "store opened");
            Ok(Store::new(Arc::new(backend)))
        }
        StoreLocation::Mongo(url) => {
            let backend = MongoBackend::connect(&url).await?;
            // Fail at start rather than on the first request when the server is unreachable.
            backend.ping().await?;
            tracing::info!(
                backend = "mongodb",
                database = backend.database_name(),
                "store opened"
            );
            Ok(Store::new(Arc::new(backend)))
        }
    }
}

/// Staff identity: signing key, seed, first administrator, access-log writer, purge job.
async fn start_auth(
    config: &Config,
    store: Store,
    clock: SharedClock,
    key: &Secret<Vec<u8>>,
) -> Result<Arc<AuthService>, ServerError> {
    let auth = Arc::new(AuthService::new(store, clock, config.auth.clone(), key)?);
    if let Some(admin) = auth.prepare().await? {
        secrets::publish_initial_admin(&config.data_dir, &admin)?;
    }
    if let Some(writer) = auth.take_access_log_writer() {
        actix_web::rt::spawn(writer.run());
    }
    let purging = Arc::clone(&auth);
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            match purging.purge().await {
                Ok(report) => tracing::debug!(?report, "purged expired staff records"),
                Err(error) => tracing::warn!(%error, "purge of expired staff records failed"),
            }
        }
    });
    Ok(auth)
}

/// Mini-program users: at-rest key, indexes, the WeChat login client.
async fn start_app_users(
    config: &Config,
    store: Store,
    clock: SharedClock,
    jwt_key: &Secret<Vec<u8>>,
    mini_program: Arc<topup_wechat::MiniProgramClient>,
) -> Result<Arc<AppUserService>, ServerError> {
    let at_rest_key = secrets::load_or_create_at_rest_key(&config.data_dir)?;
    let app_users = Arc::new(AppUserService::new(
        store,
        clock,
        config.app.clone(),
        jwt_key,
        &at_rest_key,
        mini_program,
    )?);
    app_users.prepare().await?;
    let idle = Arc::clone(&app_users);
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            idle.forget_idle_addresses();
        }
    });
    Ok(app_users)
}

/// Payments and refunds over the configured WeChat Pay merchant; the caller starts its sync
/// job. Owners of `biz_type`s register their event handlers on the service.
async fn start_payments(
    config: &Config,
    store: &Store,
    integrations: &integrations::Integrations,
    clock: SharedClock,
) -> Result<Arc<PaymentService>, ServerError> {
    let payments = PaymentService::new(
        store,
        Arc::clone(&integrations.wechat_pay),
        clock,
        config.payment.clone(),
    )?;
    payments.prepare().await?;
    tracing::info!(
        sync_period_secs = config.payment.sync_period_secs,
        payment_ttl_secs = config.payment.payment_ttl_secs,
        "payments ready"
    );
    Ok(Arc::new(payments))
}

/// The order service (checkout, events, admin actions) and its engine (the worker side),
/// registered as the owner of `topup_order` payments.
async fn start_orders(
    config: &Config,
    state: &AppState,
    integrations: &integrations::Integrations,
    catalog: &topup_catalog::Catalog,
    payments: &Arc<PaymentService>,
    clock: SharedClock,
) -> Result<(Arc<OrdersService>, Arc<OrderEngine>), ServerError> {
    let payment_port: Arc<dyn PaymentPort> = Arc::new(WechatPayments(Arc::clone(payments)));
    let service = Arc::new(
        OrdersService::new(
            &state.store,
            clock.clone(),
            Arc::new(topup_api::CatalogPlans(catalog.clone())),
            Arc::new(UserBlocklist(Arc::clone(&state.app_users))),
            Arc::clone(&payment_port),
            config.orders.clone(),
        )
        .with_providers(Arc::clone(&integrations.recharge)),
    );
    service.prepare().await?;
    payments.register_events(BIZ_TYPE, Arc::new(OrderPaymentEvents(Arc::clone(&service))));
    let worker_id = format!("{}-{}", std::process::id(), ulid::Ulid::new());
    let engine = Arc::new(OrderEngine::new(
        &state.store,
        clock,
        Arc::clone(&integrations.recharge),
        payment_port,
        config.orders.clone(),
        worker_id,
    ));
    Ok((service, engine))
}

pub fn run(config: Config) -> Result<(), ServerError> {
    init_logging(&config);
    actix_web::rt::System::new().block_on(serve(config))
}

async fn serve(config: Config) -> Result<(), ServerError> {
    create_data_dir(&config)?;
    let store = open_store(&config).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let jwt_key = secrets::load_or_create_jwt_key(&config.data_dir)?;
    let auth = start_auth(&config, store.clone(), clock.clone(), &jwt_key).await?;

    // Bind first: the embedded integrations need the real port to reach the sandboxes.
    let listener =
        std::net::TcpListener::bind(config.server.listen).map_err(|cause| ServerError::Listen {
            addr: config.server.listen.to_string(),
            cause,
        })?;
    let addr = listener.local_addr().map_err(|cause| ServerError::Listen {
        addr: config.server.listen.to_string(),
        cause,
    })?;
    let base_url = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let integrations = integrations::build(&config, &base_url, clock.clone())?;
    let app_users = start_app_users(
        &config,
        store.clone(),
        clock.clone(),
        &jwt_key,
        integrations.mini_program.clone(),
    )
    .await?;
    let mut state = AppState::new(store, clock.clone(), auth, app_users);
    state.max_json_bytes = config.server.max_json_bytes;
    let delivery = integrations
        .wechat_pay_sandbox
        .as_ref()
        .map(|sandbox| sandbox.spawn_delivery_loop(integrations::SANDBOX_DELIVERY_PERIOD));
    tracing::info!(
        providers = ?integrations
            .recharge
            .entries()
            .iter()
            .map(|entry| entry.provider.id().to_string())
            .collect::<Vec<_>>(),
        mini_program = integrations.mini_program.app_id(),
        wechat_pay_mchid = integrations.wechat_pay.mchid(),
        sandbox = integrations.wechat_pay_sandbox.is_some(),
        "integrations ready"
    );

    let catalog = topup_catalog::Catalog::new(
        state.store.clone(),
        integrations.recharge.clone(),
        clock.clone(),
        &config.catalog,
    )?;
    catalog.start().await?;
    let state = state.with_catalog(catalog.clone());
    let payments = start_payments(&config, &state.store, &integrations, clock.clone()).await?;
    let mut state = state.with_payments(Arc::clone(&payments));
    let payment_sync = payments.spawn_sync_loop();
    let (order_service, order_engine) =
        start_orders(&config, &state, &integrations, &catalog, &payments, clock).await?;
    state.orders = Some(order_service);

    let mounts = integrations.mounts.clone();
    let app_state = state.clone();
    let mut server = HttpServer::new(move || topup_api::app(app_state.clone(), mounts.clone()))
        .shutdown_timeout(config.server.shutdown_timeout_seconds);
    if let Some(workers) = config.server.workers {
        server = server.workers(workers);
    }
    let server = server
        .listen(listener)
        .map_err(|cause| ServerError::Listen {
            addr: addr.to_string(),
            cause,
        })?;
    tracing::info!(
        mode = ?config.mode,
        store = state.store.kind(),
        "listening on http://{addr} — API docs at {base_url}/docs/"
    );
    let running = server.run();
    // Started once the server accepts connections: the first sync may call the in-process
    // sandbox over HTTP. It syncs at once when the catalog was never synced.
    let background = catalog.spawn_background();
    let order_worker = orders::spawn_worker(
        order_engine,
        Duration::from_secs(config.orders.worker_period_seconds.max(1)),
    );
    // actix stops accepting on SIGINT/SIGTERM and lets in-flight requests finish.
    running.await.map_err(ServerError::Serve)?;
    for task in background {
        task.abort();
    }
    payment_sync.abort();
    order_worker.abort();
    if let Some(delivery) = delivery {
        delivery.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

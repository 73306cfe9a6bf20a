//! `Application::build`: opens the store, builds every service and the adapters between them,
//! mounts the sandboxes (embedded mode) and the web front ends, and binds the listener. The
//! binary runs it until SIGINT/SIGTERM; tests build it with a `ManualClock` and drive its
//! workers themselves (`docs/architecture.md`, "The composition root").

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use topup_api::{AppState, Mount, Services};
use topup_auth::{AppUserService, AuthService, InitialAdmin};
use topup_catalog::Catalog;
use topup_content::ContentService;
use topup_core::{SharedClock, SystemClock, Timestamp};
use topup_marketing::MarketingService;
use topup_notify::alerts::{StaffAlerts, TemplateSender};
use topup_notify::{MessageSender, NotifyService};
use topup_orders::reconcile::Reconciler;
use topup_orders::stats::OrderStats;
use topup_orders::{Coupons, OrderEngine, OrderNotices, OrdersService, PaymentPort};
use topup_payment::PaymentService;
use topup_recharge::ProviderRouter;
use topup_store::{Backend, MongoBackend, SqliteBackend, SqliteOptions, Store};

use crate::adapters::{
    AgreementTerms, BIZ_TYPE, CatalogPlans, DomainAlerts, FailedNumberRule, FailedNumbers,
    MEMBERSHIP_BIZ_TYPE, MarketingCoupons, MarketingMembers, MembershipMessages,
    MembershipWechatPayments, OrderMessages, OwnerPaymentEvents, UserBlocklist, WechatPayLedger,
    WechatPayments, sandbox_templates,
};
use crate::config::{Config, Mode, StoreLocation};
use crate::integrations::{self, Integrations, SandboxTuning, Sandboxes};
use crate::{AppError, secrets, web, workers};

/// How the process around the application wants it built.
#[derive(Clone)]
pub struct AppOptions {
    pub clock: SharedClock,
    /// A store opened by the caller (tests); otherwise the one `store.url` names.
    pub store: Option<Store>,
    /// Start the background loops (order worker, payment sync, catalog sync, purges, the
    /// sandbox's notification delivery). Tests leave them off and drive the work themselves.
    pub background: bool,
    /// Embedded mode: adjustments of the in-process sandboxes (tests).
    pub sandbox: SandboxTuning,
    /// HTTP worker threads; `server.workers` or one per core when unset.
    pub http_workers: Option<usize>,
    /// Extra routes served beside the API (tests mount probes of the shared extractors).
    pub mounts: Vec<Mount>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            clock: Arc::new(SystemClock),
            store: None,
            background: true,
            sandbox: SandboxTuning::default(),
            http_workers: None,
            mounts: Vec::new(),
        }
    }
}

/// Every service the routes and workers use, built and wired.
pub struct Application {
    pub config: Config,
    pub state: AppState,
    /// The order worker; [`Application::start`] runs it in the background when asked to.
    pub engine: Arc<OrderEngine>,
    /// The in-process sandboxes (embedded mode without `sandbox.external_url`).
    pub sandboxes: Option<Sandboxes>,
    /// The top-up providers, in the order the router tries them.
    pub providers: Arc<ProviderRouter>,
    /// The first administrator, when this start created it (its password is also written to
    /// `<data_dir>/initial-admin-password`).
    pub initial_admin: Option<InitialAdmin>,
    /// Where the outside world reaches this server.
    pub base_url: String,
    mounts: Vec<Mount>,
    listener: TcpListener,
    addr: SocketAddr,
    options: AppOptions,
}

/// A started application: the HTTP server and, when asked for, the background loops.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    server: actix_web::dev::Server,
    background: Vec<tokio::task::JoinHandle<()>>,
}

fn create_data_dir(config: &Config) -> Result<(), AppError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        // It will hold generated secrets.
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    for dir in [config.data_dir.clone(), config.data_dir.join("secrets")] {
        builder.create(&dir).map_err(|cause| AppError::DataDir {
            path: dir.display().to_string(),
            cause,
        })?;
    }
    Ok(())
}

/// Opens the store `store.url` names (SQLite under the data dir by default).
pub async fn open_store(config: &Config) -> Result<Store, AppError> {
    match config.store_location()? {
        StoreLocation::Sqlite(path) => {
            let options = SqliteOptions {
                cache_mib: config.store.sqlite_cache_mib,
                ..SqliteOptions::new(path.clone())
            };
            let backend = tokio::task::spawn_blocking(move || SqliteBackend::open(&options))
                .await
                .map_err(|e| AppError::Config(format!("store start-up failed: {e}")))??;
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

impl Application {
    pub async fn build(config: Config, options: AppOptions) -> Result<Application, AppError> {
        create_data_dir(&config)?;
        let store = match &options.store {
            Some(store) => store.clone(),
            None => open_store(&config).await?,
        };
        let clock = options.clock.clone();
        let jwt_key = secrets::load_or_create_jwt_key(&config.data_dir)?;
        let auth = Arc::new(AuthService::new(
            store.clone(),
            clock.clone(),
            config.auth.clone(),
            &jwt_key,
        )?);
        let initial_admin = auth.prepare().await?;
        if let Some(admin) = &initial_admin {
            secrets::publish_initial_admin(&config.data_dir, admin)?;
        }

        // Bound first: the embedded integrations need the real port to reach the sandboxes.
        let listener =
            TcpListener::bind(config.server.listen).map_err(|cause| AppError::Listen {
                addr: config.server.listen.to_string(),
                cause,
            })?;
        let addr = listener.local_addr().map_err(|cause| AppError::Listen {
            addr: config.server.listen.to_string(),
            cause,
        })?;
        let base_url = config
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let Integrations {
            mut mounts,
            mini_program,
            official_account,
            wechat_pay,
            wechat_pay_config,
            recharge,
            recharge_config,
            sandboxes,
        } = integrations::build(&config, &base_url, clock.clone(), &options.sandbox)?;
        tracing::info!(
            providers = ?recharge
                .entries()
                .iter()
                .map(|entry| entry.provider.id().to_string())
                .collect::<Vec<_>>(),
            mini_program = mini_program.app_id(),
            wechat_pay_mchid = wechat_pay.mchid(),
            sandbox = sandboxes.is_some(),
            "integrations ready"
        );

        let notify = Arc::new(
            NotifyService::new(
                &store,
                clock.clone(),
                Arc::clone(&mini_program) as Arc<dyn MessageSender>,
            )
            .with_rate(config.notify.max_messages_per_second),
        );
        notify.prepare().await?;
        if config.mode == Mode::Embedded && notify.templates().await?.is_empty() {
            // The sandbox mini-program's templates (in this process or another's), so the
            // demo's messages reach its inbox.
            for (event, draft) in sandbox_templates() {
                notify.put_template(event, draft).await?;
            }
        }

        let at_rest_key = secrets::load_or_create_at_rest_key(&config.data_dir)?;
        let wechat_client = Arc::clone(&mini_program);
        let app_users = Arc::new(AppUserService::new(
            store.clone(),
            clock.clone(),
            config.app.clone(),
            &jwt_key,
            &at_rest_key,
            mini_program,
        )?);
        app_users.prepare().await?;

        let catalog = Catalog::new(
            store.clone(),
            recharge.clone(),
            clock.clone(),
            &config.catalog,
        )?;
        catalog.start().await?;

        let pay_client = Arc::clone(&wechat_pay);
        let payments = Arc::new(PaymentService::new(
            &store,
            wechat_pay,
            clock.clone(),
            config.payment.clone(),
        )?);
        payments.prepare().await?;

        let marketing = Arc::new(
            MarketingService::new(&store, clock.clone())
                .with_membership_payments(Arc::new(MembershipWechatPayments(Arc::clone(&payments))))
                .with_notices(Arc::new(MembershipMessages(Arc::clone(&notify)))),
        );
        marketing.prepare().await?;
        payments.register_events(
            MEMBERSHIP_BIZ_TYPE,
            Arc::new(OwnerPaymentEvents(Arc::clone(&marketing))),
        );
        let coupons: Arc<dyn Coupons> = Arc::new(MarketingCoupons(Arc::clone(&marketing)));

        let content = Arc::new(ContentService::new(&store, clock.clone()));
        content.prepare().await?;
        // Orders reach the other domains through these adapters (`crate::adapters`).
        let payment_port: Arc<dyn PaymentPort> = Arc::new(WechatPayments(Arc::clone(&payments)));
        let orders = Arc::new(
            OrdersService::new(
                &store,
                clock.clone(),
                Arc::new(CatalogPlans(catalog.clone())),
                Arc::new(UserBlocklist(Arc::clone(&app_users))),
                Arc::clone(&payment_port),
                config.orders.clone(),
            )
            // Held orders are refunded only after the provider confirms nothing was delivered.
            .with_providers(Arc::clone(&recharge))
            .with_coupons(Arc::clone(&coupons))
            .with_members(Arc::new(MarketingMembers(Arc::clone(&marketing))))
            .with_terms(Arc::new(AgreementTerms(Arc::clone(&content)))),
        );
        orders.prepare().await?;
        payments.register_events(BIZ_TYPE, Arc::new(OwnerPaymentEvents(Arc::clone(&orders))));
        let failed_numbers = Arc::new(FailedNumbers::new(
            Arc::new(OrderMessages(Arc::clone(&notify))),
            &store,
            Arc::clone(&app_users),
            clock.clone(),
            FailedNumberRule {
                failures: config.blacklist.failed_topups_to_block,
                days: config.blacklist.auto_block_days,
            },
        ));
        let worker_id = format!("{}-{}", std::process::id(), ulid::Ulid::new());
        let reconciler = Arc::new(Reconciler::new(
            &store,
            Arc::new(WechatPayLedger(Arc::clone(&payments))),
            Arc::clone(&recharge),
            clock.clone(),
        ));
        reconciler.prepare().await?;
        let engine = Arc::new(
            OrderEngine::new(
                &store,
                clock.clone(),
                Arc::clone(&recharge),
                payment_port,
                config.orders.clone(),
                worker_id,
            )
            // A payment landing here is dispatched at once, not at the worker's next look.
            .woken_by(orders.due_signal())
            .with_coupons(coupons)
            .with_notices(Arc::clone(&failed_numbers) as Arc<dyn OrderNotices>),
        );

        let stats = Arc::new(OrderStats::new(
            &store,
            clock.clone(),
            config.app.visitor_day_utc_offset_minutes,
        ));
        stats.prepare().await?;
        // Staff alerts on WeChat: what the payments, the orders and the reconciliation raise,
        // through the official account (`docs/notifications.md#staff-alerts`).
        let alerts = Arc::new(StaffAlerts::new(
            &store,
            clock.clone(),
            Arc::clone(&official_account) as Arc<dyn TemplateSender>,
            Arc::new(DomainAlerts {
                payments: Arc::clone(&payments),
                orders: Arc::clone(&orders),
                reconciler: Arc::clone(&reconciler),
            }),
        ));
        alerts.prepare().await?;
        let settings = Arc::new(crate::settings::build(
            &config,
            &store,
            clock.clone(),
            &at_rest_key,
            crate::settings::Readers {
                mini_program: &wechat_client,
                wechat_pay: &pay_client,
                wechat_pay_config: &wechat_pay_config,
                orders: &orders,
                recharge: &recharge,
                recharge_config: &recharge_config,
                failed_numbers: &failed_numbers,
                official_account: &official_account,
                alerts: &alerts,
            },
        )?);
        // Before serving: what staff set last time is in force from the first request.
        settings.start().await?;

        let mut state = AppState::new(Services {
            store,
            clock,
            auth,
            app_users,
            catalog,
            payments,
            orders,
            marketing,
            notify,
            alerts,
            reconciler,
            stats,
            providers: Arc::clone(&recharge),
            content,
            settings,
        });
        state.max_json_bytes = config.server.max_json_bytes;
        state.trusted_proxies = Arc::new(
            topup_api::TrustedProxies::parse(&config.server.trusted_proxies)
                .map_err(|e| AppError::Config(format!("server.trusted_proxies{e}")))?,
        );
        mounts.extend(options.mounts.iter().cloned());
        // Last: the front ends answer every path the API and the sandboxes leave.
        mounts.push(web::mount(config.mode, &config.web));
        Ok(Application {
            config,
            state,
            engine,
            sandboxes,
            providers: recharge,
            initial_admin,
            base_url,
            mounts,
            listener,
            addr,
            options,
        })
    }

    /// The application for a command that serves nothing (reconcile, demo data, figures):
    /// no background loops, and the listener `build` binds on any free loopback port.
    pub async fn build_offline(mut config: Config) -> Result<Application, AppError> {
        config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Application::build(
            config,
            AppOptions {
                background: false,
                ..AppOptions::default()
            },
        )
        .await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts serving (and the background loops when the options ask for them). Call it
    /// inside an actix or tokio runtime.
    pub fn start(self) -> Result<RunningApp, AppError> {
        let Application {
            config,
            state,
            engine,
            sandboxes,
            mounts,
            listener,
            addr,
            options,
            base_url,
            ..
        } = self;
        let app_state = state.clone();
        let routes = mounts.clone();
        let mut server = HttpServer::new(move || topup_api::app(app_state.clone(), routes.clone()))
            .shutdown_timeout(config.server.shutdown_timeout_seconds)
            // Without it a response written in two parts waits for the client's delayed ACK:
            // 40 ms on every kept-alive console request (docs/operations.md#latency).
            .tcp_nodelay(true);
        if let Some(workers) = options.http_workers.or(config.server.workers) {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .map_err(|cause| AppError::Listen {
                addr: addr.to_string(),
                cause,
            })?
            .run();
        if config.embedded_in_public() {
            tracing::warn!(
                %addr,
                "embedded mode on a non-loopback address (server.allow_public_embedded): anyone \
                 who reaches it can sign in as any user and pay through the sandbox"
            );
        }
        tracing::info!(
            mode = ?config.mode,
            store = state.store.kind(),
            "listening on http://{addr} — console at {base_url}/, API docs at {base_url}/docs/"
        );
        let mut background = Vec::new();
        // The access log is written off the request path, always.
        if let Some(writer) = state.auth.take_access_log_writer() {
            background.push(tokio::spawn(writer.run()));
        }
        if options.background {
            background.extend(workers::spawn_all(
                &config,
                &state,
                engine,
                sandboxes.as_ref(),
            ));
        }
        Ok(RunningApp {
            addr,
            handle: server.handle(),
            server,
            background,
        })
    }
}

impl RunningApp {
    /// Serves until the server stops (SIGINT/SIGTERM: in-flight requests finish first).
    pub async fn wait(self) -> Result<(), AppError> {
        let outcome = self.server.await.map_err(AppError::Serve);
        for task in self.background {
            task.abort();
        }
        tracing::info!("stopped");
        outcome
    }

    /// Serves on the current runtime in a task of its own (tests); stop it with `handle`.
    pub fn spawn(self) -> (ServerHandle, tokio::task::JoinHandle<()>) {
        let handle = self.handle.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = self.wait().await {
                tracing::error!(%error, "server stopped with an error");
            }
        });
        (handle, task)
    }
}

/// What the `topup serve` command runs: build with the system clock, serve until a signal.
pub async fn serve(config: Config) -> Result<(), AppError> {
    let application = Application::build(config, AppOptions::default()).await?;
    application.start()?.wait().await
}

/// How often expired log entries, sessions and counters are purged.
pub(crate) const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// What `topup reconcile` runs: the application built without serving, then one
/// reconciliation of `[from, to)` against WeChat Pay and the providers.
pub async fn reconcile(
    config: Config,
    from: Timestamp,
    to: Timestamp,
) -> Result<topup_orders::reconcile::Reconciliation, AppError> {
    if config.mode == crate::Mode::Embedded && config.sandbox.external_url.is_none() {
        // The embedded sandboxes keep their payments in the serving process's memory: a
        // second process would find none of them.
        return Err(AppError::Config(
            "the embedded sandboxes live in the serving process: reconcile from the console \
             (Payments → Reconciliation) or POST /api/v1/admin/reconciliations, or run the \
             sandboxes in a process of their own (sandbox.external_url)"
                .into(),
        ));
    }
    let application = Application::build_offline(config).await?;
    Ok(application.state.reconciler.run(from, to, "cli").await?)
}

/// Rebuilds the dashboard's figures of the days `from..=to` from the orders (`topup
/// rebuild-figures`): the repair after a restore, a bug, or orders edited by hand. Answers how
/// many ten-minute spans held orders.
pub async fn rebuild_figures(
    config: Config,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<usize, AppError> {
    let application = Application::build_offline(config).await?;
    Ok(application.state.stats.rebuild(from, to).await?)
}

//! The front ends served by the product itself (`docs/front-ends.md`): the admin console at
//! `/` and, in the embedded mode, the H5 build of the mini-program client at `/h5/`.
//!
//! Release builds carry both folders inside the binary (rust-embed), so deploying is copying
//! one file; debug builds read the same folders from disk. `web.admin_dir` / `web.h5_dir`
//! serve another folder instead. A folder that was never built answers a page saying how to
//! build it, and the server builds and runs without Node.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;
use topup_api::Mount;

use crate::config::{Mode, WebSection};

#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../admin-web/dist"]
#[allow_missing = true]
struct AdminAssets;

#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../client/dist/build/h5"]
#[allow_missing = true]
struct H5Assets;

/// Paths the front ends never answer: the API, the sandboxes and the system routes keep their
/// JSON 404 there.
const RESERVED: &[&str] = &[
    "api/",
    "sandbox/",
    "docs",
    "openapi.json",
    "healthz",
    "readyz",
    "metrics",
];

/// Where one front end's files come from.
#[derive(Clone)]
enum Source {
    Admin,
    H5,
    Dir(PathBuf),
}

impl Source {
    fn read(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        match self {
            Source::Admin => AdminAssets::get(path).map(|file| file.data),
            Source::H5 => H5Assets::get(path).map(|file| file.data),
            Source::Dir(root) => {
                let relative = safe_relative(path)?;
                std::fs::read(root.join(relative)).ok().map(Cow::Owned)
            }
        }
    }
}

/// `path` as a relative path inside the folder, or `None` when it tries to leave it.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let candidate = Path::new(path);
    candidate
        .components()
        .all(|part| matches!(part, Component::Normal(_)))
        .then(|| candidate.to_path_buf())
}

/// One front end mounted under `prefix` (`""` for the root).
#[derive(Clone)]
struct FrontEnd {
    source: Source,
    /// What to build when the folder is empty, for the placeholder page.
    name: &'static str,
    build_hint: &'static str,
}

impl FrontEnd {
    fn answer(&self, path: &str) -> HttpResponse {
        let path = path.trim_start_matches('/');
        if !path.is_empty()
            && let Some(bytes) = self.source.read(path)
        {
            return file_response(path, bytes);
        }
        // A client-side route (no file of that name): the app's page, which routes itself.
        match self.source.read("index.html") {
            Some(bytes) => file_response("index.html", bytes),
            None if looks_like_file(path) => HttpResponse::NotFound().finish(),
            None => self.not_built(),
        }
    }

    fn not_built(&self) -> HttpResponse {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Topup</title></head>\
             <body style=\"font-family:sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5\">\
             <h1>Topup</h1><p>The {name} is not part of this build. Build it, then rebuild or \
             restart the server:</p><pre>{hint}</pre><p>The API works without it: its documentation \
             is at <a href=\"/docs/\">/docs/</a>.</p></body></html>",
            name = self.name,
            hint = self.build_hint,
        );
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(page)
    }
}

fn looks_like_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn file_response(path: &str, bytes: Cow<'static, [u8]>) -> HttpResponse {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // Vite names built assets by their content hash: they never change under one name.
    let cache = if path.starts_with("assets/") || path.starts_with("static/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, cache));
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        response.insert_header((header::CONTENT_TYPE, value));
    }
    response.body(bytes.into_owned())
}

async fn serve_admin(req: HttpRequest, front: web::Data<Fronts>) -> HttpResponse {
    let path = req.path().trim_start_matches('/');
    if RESERVED.iter().any(|prefix| path.starts_with(prefix))
        || (front.h5.is_none() && (path == "h5" || path.starts_with("h5/")))
    {
        return topup_api::route_not_found_response(&req);
    }
    front.admin.answer(path)
}

async fn serve_h5(req: HttpRequest, front: web::Data<Fronts>) -> HttpResponse {
    let Some(h5) = &front.h5 else {
        return topup_api::route_not_found_response(&req);
    };
    match req.path().strip_prefix("/h5") {
        Some("") => HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, "/h5/"))
            .finish(),
        Some(rest) => h5.answer(rest),
        None => topup_api::route_not_found_response(&req),
    }
}

struct Fronts {
    admin: FrontEnd,
    h5: Option<FrontEnd>,
}

/// The routes serving the front ends; mount them after everything else.
pub fn mount(mode: Mode, settings: &WebSection) -> Mount {
    let admin = FrontEnd {
        source: settings
            .admin_dir
            .clone()
            .map_or(Source::Admin, Source::Dir),
        name: "admin console",
        build_hint: "cd admin-web && npm ci && npm run build",
    };
    // The H5 client logs in and pays through the sandbox: only the embedded mode serves it.
    let h5 = (mode == Mode::Embedded).then(|| FrontEnd {
        source: settings.h5_dir.clone().map_or(Source::H5, Source::Dir),
        name: "mini-program client (H5)",
        build_hint: "cd client && npm ci && npm run build:h5",
    });
    let fronts = web::Data::new(Fronts { admin, h5 });
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::resource(["/h5", "/h5/{tail:.*}"])
                .app_data(fronts.clone())
                .route(web::get().to(serve_h5))
                .route(web::head().to(serve_h5)),
        )
        .service(
            web::resource(["/", "/{tail:.*}"])
                .app_data(fronts.clone())
                .route(web::get().to(serve_admin))
                .route(web::head().to(serve_admin)),
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_leave_the_folder() {
        assert_eq!(
            safe_relative("assets/app.js"),
            Some(PathBuf::from("assets/app.js"))
        );
        assert_eq!(safe_relative("../secrets/jwt.key"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(safe_relative("a/../../b"), None);
    }

    #[test]
    fn a_folder_without_a_build_explains_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let front = FrontEnd {
            source: Source::Dir(dir.path().to_path_buf()),
            name: "admin console",
            build_hint: "cd admin-web && npm ci && npm run build",
        };
        let response = front.answer("/orders");
        assert_eq!(response.status(), 200);
        assert_eq!(front.answer("/assets/missing.js").status(), 404);
    }

    #[test]
    fn hashed_assets_are_cached_for_a_year_and_pages_revalidated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("index.html"), "<html></html>").unwrap();
        std::fs::write(dir.path().join("assets/app-1a2b.js"), "x").unwrap();
        let front = FrontEnd {
            source: Source::Dir(dir.path().to_path_buf()),
            name: "admin console",
            build_hint: "",
        };
        let asset = front.answer("/assets/app-1a2b.js");
        assert_eq!(
            asset.headers().get(header::CACHE_CONTROL).unwrap(),
            "public, max-age=31536000, immutable"
        );
        assert!(
            asset
                .headers()
                .get(header::CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("javascript")
        );
        // A client-side route gets the page, which must always be revalidated.
        let page = front.answer("/orders/123");
        assert_eq!(
            page.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-cache"
        );
    }
}

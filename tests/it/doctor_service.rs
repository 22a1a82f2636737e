//! `icyproxy doctor` beside the service: the cookie rule they share, the
//! probe run with the service's cookies, a resolver that is not yt-dlp,
//! and a running service reached by its token.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Origin, fixture};
use crate::doctor::{Setup, snapshot};

#[test]
fn cookies_readable_by_others_are_named_with_the_fix() {
    let origin = Origin::start();
    let s = Setup::new();
    let jar = s.path("cookies.txt");
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t4102444800\tLOGIN_INFO\tx\n",
    )
    .expect("jar");
    std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    s.config(&format!(
        "{}cookies_file = {:?}\n",
        Setup::resolver("ok", &origin.url("/audio/3000000"), ""),
        jar.display().to_string()
    ));
    s.doctor()
        .fails("cookies", "is open to other users (mode 644)", "chmod 600");
    std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let r = s.doctor();
    assert_eq!(r.code, Some(0), "{}", r.json);
    assert_eq!(r.check("cookies").0, "ok");
    // Expired by the jar's own column.
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t1600000000\tLOGIN_INFO\tx\n",
    )
    .expect("jar");
    s.doctor()
        .fails("cookies", "LOGIN_INFO has expired", "export them again");
}

/// One rule for the jar: a group-readable one (`chmod 640`, as doctor
/// once recommended) is refused alike by the service's runs, doctor and
/// the start's warnings in `/health`, with the same words.
#[test]
fn a_group_readable_jar_is_refused_alike_by_the_service_doctor_and_health() {
    let origin = Origin::start();
    let jars = tempfile::tempdir().expect("tempdir");
    let jar = jars.path().join("cookies.txt");
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t4102444800\tLOGIN_INFO\tx\n",
    )
    .expect("jar");
    std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let calls = jars.path().join("calls");
    let said = format!(
        "{} is open to other users (mode 640): it holds your YouTube login; make it yours \
         alone: chmod 600 {}",
        jar.display(),
        jar.display()
    );
    let served = crate::common::Served::start(
        &format!(
            "{}cookies_file = {:?}\n",
            crate::common::fake_resolver("json", &calls, &origin.url("/audio/3000")),
            jar.display().to_string()
        ),
        &[],
    );
    // The service: a new id's run is refused, and nothing ran.
    let reply = crate::common::get(served.addr, "/proxy/dQw4w9WgXcQ/", &[]);
    assert_eq!(reply.status, 500, "{}", reply.body_text());
    assert!(reply.body_text().contains(&said), "{}", reply.body_text());
    assert!(!calls.exists(), "the resolver ran without its cookies");
    // /health's warnings.
    let health = crate::common::health(served.addr);
    let warned = health["warnings"].to_string();
    assert!(warned.contains(&said), "{health}");
    // Doctor.
    let o = served.cli(&["doctor", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("doctor's json");
    let check = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "cookies")
        .unwrap_or_else(|| panic!("no cookies check: {json}"))
        .clone();
    assert_eq!(check["status"], "fail", "{check}");
    let doctor = format!(
        "{}; {}",
        check["detail"].as_str().unwrap_or(""),
        check["fix"].as_str().unwrap_or("")
    );
    assert_eq!(doctor, said);
    assert_eq!(o.status.code(), Some(1));
}

/// The probe runs as the service's runs do: with `--cookies` and a private
/// copy of the service's jar (removed after, nothing kept), and a bot
/// check with cookies set is told as the service tells it.
#[test]
fn the_probe_runs_with_the_service_s_cookies_and_changes_nothing() {
    let origin = Origin::start();
    let s = Setup::new();
    let jar = s.path("cookies.txt");
    std::fs::write(
        &jar,
        "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t4102444800\tLOGIN_INFO\tx\n",
    )
    .expect("jar");
    std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let argv_log = s.path("argv.log");
    let config = |mode: &str| {
        format!(
            "{}cookies_file = {:?}\n",
            Setup::resolver(
                mode,
                &origin.url("/audio/3000000"),
                &format!("\"argv={}\", ", argv_log.display())
            ),
            jar.display().to_string()
        )
    };
    s.config(&config("ok"));
    s.database();
    let before = snapshot(s.dir.path());
    let r = s.doctor();
    assert_eq!(r.check("probe resolve").0, "ok", "{}", r.json);
    let argv = std::fs::read_to_string(&argv_log).expect("the probe ran");
    let lent = argv
        .split_once("--cookies ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no --cookies: {argv}"));
    assert_ne!(lent, jar.display().to_string(), "never the user's file");
    assert!(!Path::new(lent).exists(), "{lent} left behind");
    std::fs::remove_file(&argv_log).expect("rm");
    assert_eq!(snapshot(s.dir.path()), before, "doctor changed a file");

    s.config(&config("bot"));
    s.doctor().fails(
        "probe resolve",
        &format!("the cookies in {} no longer log in", jar.display()),
        "export them again",
    );
}

/// A resolver that is not yt-dlp (the shipped stand-in, a user's script)
/// is not asked for `--version`: the probe tells whether it works, and
/// doctor passes when it does.
#[test]
fn a_resolver_that_is_not_yt_dlp_passes_on_its_probe() {
    let origin = Origin::start();
    let s = Setup::new();
    let calls = s.path("calls");
    s.config(&format!(
        "[resolver]\ncommand = [{:?}, {:?}, \"json\", {:?}, \"{{video_id}}\"]\n",
        fixture("fake-resolver").display().to_string(),
        calls.display().to_string(),
        origin.url("/audio/3000000")
    ));
    s.database();
    let r = s.doctor();
    assert_eq!(r.check("resolver").0, "ok", "{}", r.json);
    assert_eq!(r.check("probe resolve").0, "ok", "{}", r.json);
    assert_eq!(r.code, Some(0), "{}", r.json);
}

/// With a token, a service on a network address answers its whole
/// `/health` only with it: doctor sends it, and still reads the service's
/// own warnings.
#[test]
fn doctor_reads_a_tokened_service_s_warnings_from_a_network_address() {
    let s = Setup::new();
    let lan = crate::common::lan_address();
    let token = "doctor-token-0123456789";
    let playlists = s.path("mpd-playlists");
    let config = format!(
        "[resolver]\ncommand = []\n[playlists]\nmpd_dir = {:?}\n",
        playlists.display().to_string()
    );
    let served = crate::common::Served::start(
        &format!("{config}[server]\nhost = \"{lan}\"\ntoken = {token:?}\n"),
        &[],
    );
    std::fs::create_dir(&playlists).expect("mkdir");
    s.config(&format!(
        "[store]\npath = {:?}\n{config}[server]\nhost = \"{lan}\"\nport = {}\ntoken = {token:?}\n",
        served.db().display().to_string(),
        served.addr.port()
    ));
    let r = s.doctor();
    r.fails(
        "service",
        "[playlists] mpd_dir: ",
        "its own user, groups and sandbox",
    );
}

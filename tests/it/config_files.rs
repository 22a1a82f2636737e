//! A config file decides which programs icyproxy runs: one that another
//! user could have written (group/other-writable, or owned by someone
//! else than this user or root) is refused with a message naming the file
//! and the fix, and that covers `./proxy.toml` found by the search.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

const ID: &str = "dQw4w9WgXcQ";

#[test]
fn a_proxy_toml_another_user_could_write_is_refused_before_it_runs_anything() {
    let e = env("");
    let marker = e.dir.path().join("the-resolver-ran");
    std::fs::write(
        &e.config,
        format!(
            "[store]\npath = \"data/tracks.db\"\n[mpd]\naddress = \"\"\n\
             [resolver]\ncommand = [\"touch\", {:?}]\n",
            marker.display().to_string()
        ),
    )
    .expect("config");
    let found = e.config.display().to_string();
    // Found by the search (no --config): ./proxy.toml in the working directory.
    let resolve = || run(bin(&e).args(["resolve", ID]), None);
    let chmod = |mode: u32| {
        std::fs::set_permissions(&e.config, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };

    for (mode, who) in [(0o664, "its group"), (0o666, "everyone")] {
        chmod(mode);
        let o = resolve();
        assert!(!o.status.success());
        let text = stderr(&o);
        assert!(
            text.contains(&format!("bad permissions on config file {found}"))
                && text.contains(who)
                && text.contains(&format!("chmod go-w {found}")),
            "{text}"
        );
        assert!(!marker.exists(), "the resolver ran from a writable config");
    }
    // --config FILE is checked the same way.
    let o = run(bin(&e).arg("--config").arg(&e.config).arg("list"), None);
    assert!(
        stderr(&o).contains("bad permissions on config file"),
        "{}",
        stderr(&o)
    );

    chmod(0o644);
    let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&e.config).expect("stat"));
    if me == 0 {
        // Owned by another user (only root can make that here).
        std::os::unix::fs::chown(&e.config, Some(65534), None).expect("chown");
        let o = resolve();
        assert!(!o.status.success());
        let text = stderr(&o);
        assert!(
            text.contains(&format!("bad owner of config file {found}"))
                && text.contains("user id 65534"),
            "{text}"
        );
        assert!(
            !marker.exists(),
            "the resolver ran from another user's config"
        );
        std::os::unix::fs::chown(&e.config, Some(0), None).expect("chown back");
    }
    // Not writable by others and ours (or root's): read and used.
    let o = resolve();
    assert!(marker.exists(), "{}", stderr(&o));
}

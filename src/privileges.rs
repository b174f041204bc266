//! Dropping root privileges after binding the service port, as 21.03 does with
//! `manager.user` / `manager.group` (names or numeric ids).

use std::ffi::CString;

use anyhow::{bail, Context};

fn lookup_user(name: &str) -> anyhow::Result<(libc::uid_t, libc::gid_t)> {
    if let Ok(uid) = name.parse::<libc::uid_t>() {
        // SAFETY: getpwuid returns a pointer into static storage or null; read it at once.
        let entry = unsafe { libc::getpwuid(uid) };
        let gid = if entry.is_null() {
            uid
        } else {
            unsafe { (*entry).pw_gid }
        };
        return Ok((uid, gid));
    }
    let c_name = CString::new(name).context("manager.user contains a NUL byte")?;
    // SAFETY: as above; the manager is single-minded at this point (start-up, before serving).
    let entry = unsafe { libc::getpwnam(c_name.as_ptr()) };
    if entry.is_null() {
        bail!("manager.user: no such user {name:?} on this system");
    }
    Ok(unsafe { ((*entry).pw_uid, (*entry).pw_gid) })
}

fn lookup_group(name: &str) -> anyhow::Result<libc::gid_t> {
    if let Ok(gid) = name.parse::<libc::gid_t>() {
        return Ok(gid);
    }
    let c_name = CString::new(name).context("manager.group contains a NUL byte")?;
    // SAFETY: getgrnam returns a pointer into static storage or null; read it at once.
    let entry = unsafe { libc::getgrnam(c_name.as_ptr()) };
    if entry.is_null() {
        bail!("manager.group: no such group {name:?} on this system");
    }
    Ok(unsafe { (*entry).gr_gid })
}

/// Switches to `user` and `group` when running as root; does nothing otherwise (21.03 applies
/// these settings only to a manager started as root).
pub fn drop_privileges(user: Option<&str>, group: Option<&str>) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || (user.is_none() && group.is_none()) {
        return Ok(());
    }
    let (uid, user_gid) = match user {
        Some(u) => lookup_user(u)?,
        None => (0, 0),
    };
    let gid = match group {
        Some(g) => lookup_group(g)?,
        None => user_gid,
    };
    // SAFETY: plain system calls with valid arguments; glibc applies them to every thread.
    unsafe {
        if libc::setgroups(1, &gid) != 0 || libc::setgid(gid) != 0 {
            bail!(
                "cannot switch to group id {gid}: {}",
                std::io::Error::last_os_error()
            );
        }
        if user.is_some() && libc::setuid(uid) != 0 {
            bail!(
                "cannot switch to user id {uid}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    tracing::info!("changed process uid and gid to {uid}:{gid}");
    Ok(())
}

//! The few operating-system facts std does not expose: our own ids, group names, and the
//! supplementary groups of a socket's peer. Every `unsafe` block of the daemon is here.

use std::ffi::CString;
use std::os::fd::AsRawFd;

/// The daemon's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The gid of the group named `name`, from the system's group database (NSS included).
pub fn group_id(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: `group` and `result` are plain out-parameters; `buf` outlives the call and
        // its length is passed along, as getgrnam_r requires.
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut group,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        return (rc == 0 && !result.is_null()).then_some(group.gr_gid);
    }
}

/// `SO_PEERGROUPS` (Linux 4.13): not in every libc binding, and 59 on all but mips/sparc.
#[cfg(all(
    target_os = "linux",
    not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))
))]
const SO_PEERGROUPS: libc::c_int = 59;

/// The supplementary groups of the process at the other end of a Unix socket, as they were
/// when it connected. Empty when the kernel cannot tell.
pub fn peer_groups(sock: &impl AsRawFd) -> Vec<u32> {
    #[cfg(all(
        target_os = "linux",
        not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))
    ))]
    {
        let mut groups = vec![0 as libc::gid_t; 64];
        for _ in 0..4 {
            let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
            // SAFETY: the buffer is valid for `len` bytes; the kernel writes at most `len` and
            // reports the size it needs through `len` when the buffer is too small (ERANGE).
            let rc = unsafe {
                libc::getsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    SO_PEERGROUPS,
                    groups.as_mut_ptr().cast(),
                    &mut len,
                )
            };
            let n = len as usize / std::mem::size_of::<libc::gid_t>();
            if rc == 0 {
                groups.truncate(n);
                return groups;
            }
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE)
                || n <= groups.len()
            {
                return Vec::new();
            }
            groups.resize(n, 0);
        }
        Vec::new()
    }
    #[cfg(not(all(
        target_os = "linux",
        not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))
    )))]
    {
        let _ = sock;
        Vec::new()
    }
}

/// Takes ownership of a listening Unix socket passed by the service manager (socket
/// activation), checking that it is one.
pub fn take_listener(fd: std::os::fd::RawFd) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::fd::FromRawFd;
    // SAFETY: the descriptor comes from LISTEN_FDS for this very process (sd-notify checks
    // LISTEN_PID) and nothing else in the daemon owns or closes it.
    let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
    // getsockname fails for anything but a Unix socket.
    listener.local_addr()?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The next byte `socket` would read, left unread; `None` at end of stream. Fails with
/// `WouldBlock` while nothing has arrived.
pub fn peek_byte(socket: &impl AsRawFd) -> std::io::Result<Option<u8>> {
    let mut byte = 0u8;
    // SAFETY: `byte` is a writable one-byte buffer that outlives the call; the length says so.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        n if n < 0 => Err(std::io::Error::last_os_error()),
        0 => Ok(None),
        _ => Ok(Some(byte)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_group_exists() {
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-hinetd-test"), None);
        assert_eq!(group_id("nul\0byte"), None);
    }

    #[test]
    fn peer_groups_of_a_socketpair_are_ours() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        // Readable either way; on Linux the list is this process's supplementary groups.
        let _ = peer_groups(&a);
    }
}

//! Turning Nagle's algorithm off on PostgreSQL TCP connections.
//!
//! sqlx 0.9.0 stopped setting `TCP_NODELAY` on the sockets it opens (transact-rs/sqlx#4335,
//! fixed upstream after 0.9.0). With Nagle on, the tail of any message larger than one TCP
//! segment waits for the server's delayed ACK, so every large statement (a page of upserts)
//! stalls for about 40 ms: page checkpoints ran at 2,800-4,000 rows/s over TCP against 31,900
//! over a Unix socket. sqlx exposes no handle on its socket, so after each new connection we
//! find this process's TCP sockets whose peer is the database port and set `TCP_NODELAY` on
//! them. Only Linux has `/proc/self/fd`; elsewhere this does nothing.
//!
//! Remove this module once the workspace depends on an sqlx release that sets the option.

/// Set `TCP_NODELAY` on every TCP socket of this process connected to `port` that lacks it.
/// Returns how many sockets it changed.
#[cfg(target_os = "linux")]
pub(crate) fn apply(port: u16) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let mut changed = 0;
    for entry in entries.flatten() {
        // `socket:[inode]` marks a socket; everything else (files, pipes) is skipped unopened.
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|target| {
            target
                .as_os_str()
                .as_encoded_bytes()
                .starts_with(b"socket:")
        });
        let fd = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok());
        if let (true, Some(fd)) = (is_socket, fd)
            && set_if_peer_port(fd, port)
        {
            changed += 1;
        }
    }
    changed
}

/// No `/proc/self/fd` to search: nothing to do.
#[cfg(not(target_os = "linux"))]
pub(crate) fn apply(_port: u16) -> usize {
    0
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_if_peer_port(fd: i32, port: u16) -> bool {
    use std::os::fd::BorrowedFd;
    // SAFETY: `fd` was listed in /proc/self/fd as a socket an instant ago. We only read socket
    // options and set one; we never read, write or close it. Should another thread close it and
    // reuse the number meanwhile, the calls fail (not a socket) or set TCP_NODELAY on another
    // TCP socket to the same port, which is harmless.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = socket2::SockRef::from(&fd);
    let is_tcp_to_port = socket.r#type().is_ok_and(|t| t == socket2::Type::STREAM)
        && socket
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .is_some_and(|a| a.port() == port);
    is_tcp_to_port
        && socket.tcp_nodelay().is_ok_and(|on| !on)
        && socket.set_tcp_nodelay(true).is_ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn sets_nodelay_only_on_sockets_to_the_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to_port = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let to_other = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!to_port.nodelay().unwrap());

        assert!(apply(port) >= 1);
        assert!(to_port.nodelay().unwrap());
        assert!(!to_other.nodelay().unwrap());
        // Already set: nothing left to change on that socket.
        let again = apply(port);
        assert!(to_port.nodelay().unwrap());
        assert_eq!(again, 0);
    }
}

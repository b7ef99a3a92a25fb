//! A loopback address that refuses connections, for tests of an unreachable relay.

use std::net::{Ipv4Addr, SocketAddr};

use socket2::{Domain, Socket, Type};

/// A TCP port on 127.0.0.1 that is bound but never listened on, held as long as this value
/// lives: a connection to it is refused at once, and no other test can take the port meanwhile
/// (a port bound and released again could be taken by a relay another test starts).
pub struct DeadAddress {
    _socket: Socket,
    addr: SocketAddr,
}

impl DeadAddress {
    /// Binds a fresh port without listening.
    pub fn new() -> Self {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).expect("bind port 0");
        let addr = socket
            .local_addr()
            .expect("the bound address")
            .as_socket()
            .expect("an IPv4 socket address");
        Self { _socket: socket, addr }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Default for DeadAddress {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_connections_while_held() {
        let dead = DeadAddress::new();
        let refused = std::net::TcpStream::connect(dead.addr()).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        // Nobody else can listen there meanwhile.
        assert!(std::net::TcpListener::bind(dead.addr()).is_err());
    }
}

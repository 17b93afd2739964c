//! Stand-ins for the targets, for trying the relay by hand and for `cargo
//! xtask run`: one HTTP receiver per `NAME=IP:PORT` argument, each printing a
//! line for every delivery it gets (and applying each Idempotency-Key once).
//!
//! `cargo run -p contacts-server --example receiver -- MAS=127.0.0.1:8091 MDM=127.0.0.1:8092`

use std::net::SocketAddr;

use contacts_testkit::receiver::Receiver;

fn main() -> Result<(), String> {
    let mut receivers = Vec::new();
    for arg in std::env::args().skip(1) {
        let (name, addr) = arg
            .split_once('=')
            .ok_or_else(|| format!("'{arg}': give NAME=IP:PORT, such as MAS=127.0.0.1:8091"))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an address such as 127.0.0.1:8091"))?;
        let receiver = Receiver::start_on(name, addr, true)?;
        println!("{name} stand-in receiving at {}", receiver.url());
        receivers.push(receiver);
    }
    if receivers.is_empty() {
        return Err("give at least one NAME=IP:PORT, such as MAS=127.0.0.1:8091".into());
    }
    loop {
        std::thread::park();
    }
}

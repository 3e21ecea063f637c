//! The web client's entry point, as Trunk builds it.

fn main() {
    ward::start();
}

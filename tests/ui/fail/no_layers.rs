use keelnet::network;

network! {
    struct Nothing: Input<784>;
}

fn main() {}

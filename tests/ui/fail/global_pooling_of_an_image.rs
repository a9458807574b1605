use keelnet::network;

network! {
    // GlobalAveragePooling1D pools a sequence [T, D]; an image is [C, H, W].
    struct Pooled: Input<1, 28, 28> -> GlobalAveragePooling1D -> Dense<10, Softmax>;
}

fn main() {}

"""The two Keras reference programs, timed per epoch on this machine.

    pip install tensorflow-cpu
    python benches/peers/keras_mnist.py mlp|cnn [MNIST_DIR]

MNIST_DIR holds the four gzipped IDX files (default ../shared/data/mnist).
Prints each epoch's seconds (validation included), their median, and the
test accuracy. Not part of the Rust build or of CI: the figures compare
keelnet with Keras side by side on the same CPU (README, Performance).
"""

import gzip
import statistics
import sys
import time

import numpy as np
import tensorflow as tf


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


class EpochTimes(tf.keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def main():
    model_name = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/mnist"
    x_train = idx(f"{root}/train-images-idx3-ubyte.gz").astype("float32") / 255
    y_train = tf.keras.utils.to_categorical(idx(f"{root}/train-labels-idx1-ubyte.gz"), 10)
    x_test = idx(f"{root}/t10k-images-idx3-ubyte.gz").astype("float32") / 255
    y_test = tf.keras.utils.to_categorical(idx(f"{root}/t10k-labels-idx1-ubyte.gz"), 10)
    layers = tf.keras.layers
    times = EpochTimes()
    if model_name == "mlp":
        model = tf.keras.Sequential([
            tf.keras.Input((28, 28)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=32, epochs=10,
                  validation_split=0.2, callbacks=[times], verbose=2)
    else:
        x_train, x_test = x_train[..., None], x_test[..., None]
        model = tf.keras.Sequential([
            tf.keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=64, epochs=5,
                  validation_data=(x_test, y_test), callbacks=[times], verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print("epoch seconds", " ".join(f"{t:.2f}" for t in times.times))
    print(f"median epoch {statistics.median(times.times):.2f} s, test accuracy {accuracy:.4f}")


main()

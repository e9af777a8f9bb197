"""Lesson 07's checks name the typical wrong answers (tests/learner_feedback.py runs them as a learner would)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "07_dcgan_keras.ipynb"


def _generator(dense_bias: str = "False", first_conv_bias: str = "False", after_dense: str = "ReLU") -> str:
    """build_generator as a learner writes it, with the biases and the block after the Dense layer given."""
    block = {"ReLU": "x = layers.ReLU()(layers.BatchNormalization()(x))", "no BatchNorm": "x = layers.ReLU()(x)"}
    return f'''
def build_generator(latent_dim=64, width=128, out_shape=(28, 28, 1)):
    h, w, channels = out_shape
    init = keras.initializers.RandomNormal(0.0, 0.02)
    z = keras.Input((latent_dim,))
    x = layers.Dense(h // 4 * (w // 4) * width, use_bias={dense_bias}, kernel_initializer=init)(z)
    x = layers.Reshape((h // 4, w // 4, width))(x)
    {block[after_dense]}
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias={first_conv_bias},
                               kernel_initializer=init)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    image = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh",
                                   kernel_initializer=init)(x)
    return keras.Model(z, image, name="generator")
'''


#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    # Keras' default use_bias=True, kept where BatchNorm follows
    ("build_generator", _generator(dense_bias="True"), "computed with a bias in the Dense layer"),
    ("build_generator", _generator(first_conv_bias="True"), "computed with a bias in the first Conv2DTranspose"),
    ("build_generator", _generator(dense_bias="True", first_conv_bias="True"),
     "computed with a bias in both layers that BatchNorm follows"),
    # a layer forgotten: the list is shorter, and the message names the first layer that differs
    ("build_generator", _generator(after_dense="no BatchNorm"), "BatchNormalization"),
    ("inception_score", '''
def inception_score(proba, eps=1e-12):
    marginal = proba.mean(axis=0)
    return np.mean(np.sum(proba * (np.log(proba + eps) - np.log(marginal + eps)), axis=1))
''', "computed without the exp"),
    ("inception_score", '''
def inception_score(proba, eps=1e-12):
    p_y = np.mean(proba, axis=0, keepdims=True)
    kl = np.sum(p_y * np.log((p_y + eps) / (proba + eps)), axis=1)
    return float(np.exp(np.mean(kl)))
''', "computed with the KL divergence the wrong way round"),
    # the square root moved out of the trace: no eigenvalues needed, and wrong
    ("frechet_distance", '''
def frechet_distance(mu1, sigma1, mu2, sigma2):
    mean_term = np.sum((mu1 - mu2) ** 2)
    return mean_term + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.trace(sigma1 @ sigma2))
''', "computed with √Tr(Σ₁Σ₂) in place of Tr((Σ₁Σ₂)^½)"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)

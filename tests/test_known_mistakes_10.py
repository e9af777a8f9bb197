"""Lesson 10's checks say what a typical wrong U-Net forward pass did (tests/learner_feedback.py runs them)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "10_image_to_image.ipynb"


def _forward(join_7: str = "torch.cat([h, e2], dim=1)", join_14: str = "torch.cat([h, e1], dim=1)",
             check_skips: bool = True) -> str:
    """unet_forward as a learner writes it, with the two concatenations given."""
    guard = "if g.skips:" if check_skips else "if True:"
    return f'''
def unet_forward(g, x):
    e1 = g.enc1(x)
    e2 = g.enc2(e1)
    h = g.up3(g.enc3(e2))
    {guard}
        h = {join_7}
    h = g.up2(g.fuse3(h))
    {guard}
        h = {join_14}
    return torch.tanh(g.out(g.up1(g.fuse2(h))))
'''


#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    # torch.cat's default axis is 0, the batch
    ("unet_forward", _forward("torch.cat([h, e2])", "torch.cat([h, e1])"), "concatenate on the channel axis (dim=1)"),
    # the skips taken in the encoder's order: e1 first
    ("unet_forward", _forward("torch.cat([h, e1], dim=1)", "torch.cat([h, e2], dim=1)"),
     "a skip was joined at the wrong scale"),
    # concatenating whatever g.skips says: the U-Net without skips has no room for them
    ("unet_forward", _forward(check_skips=False), "only when g.skips is True"),
    # the module's own forward pass instead of the wiring: refused by the instant check, not only by the grader
    ("unet_forward", "\ndef unet_forward(g, x):\n    return g(x)\n", "run g's layers instead"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)

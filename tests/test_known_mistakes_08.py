"""Lesson 08's checks name the typical wrong answers (tests/learner_feedback.py runs them as a learner would)."""

from __future__ import annotations

from learner_feedback import names_each_mistake

LESSON = "08_dcgan_pytorch.ipynb"

ONE_BATCH = '''
def train_step(g, d, opt_g, opt_d, real, z):
    fake = g(z)
    logits = d(torch.cat([real, fake.detach()]))  # one forward pass for both: faster?
    logits_real, logits_fake = logits[:len(real)], logits[len(real):]
    loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
              + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    logits = d(fake)
    loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g
'''

STALE_LOGITS = '''
def train_step(g, d, opt_g, opt_d, real, z):
    fake = g(z)
    logits_real, logits_fake = d(real), d(fake)  # D's logits on the fakes, computed once for both losses
    loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
              + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
    loss_g = F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))
    opt_d.zero_grad()
    loss_d.backward(retain_graph=True)
    opt_d.step()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g
'''

#: (exercise, a typical wrong answer, words its check must say)
MISTAKES = [
    ("train_step", ONE_BATCH, "Your result is exactly the one computed with D run once on real and fake together"),
    ("train_step", STALE_LOGITS, "raised RuntimeError: one of the variables needed for gradient computation has "
                                 "been modified by an inplace operation"),
    ("train_step", STALE_LOGITS, "at line 11 of your code: `loss_g.backward()`. This usually means that G's loss "
                                 "uses D's logits from before opt_d.step() changed D"),
]


test_the_check_names_the_mistake = names_each_mistake(LESSON, MISTAKES)

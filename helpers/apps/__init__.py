"""The GAN-free applications of learned upsampling and the course's MNIST judge (lessons 07–10).

Used through its modules: helpers.apps.common, helpers.apps.judge, helpers.apps.pix2pix_torch, helpers.apps.sr_torch.
"""

"""The GAN-free applications of learned upsampling and the course's MNIST judge (lessons 06–09).

Used through its modules: helpers.apps.common, helpers.apps.judge, helpers.apps.pix2pix_torch, helpers.apps.sr_torch.
"""

"""Learned upsampling beyond the DCGAN: super-resolution (lesson 09) and image-to-image translation
with a U-Net generator and a PatchGAN discriminator (lesson 10).

Used through its modules: helpers.apps.pix2pix_torch, sr_figures, sr_torch and sr_upsamplers.
"""

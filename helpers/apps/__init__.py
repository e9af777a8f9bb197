"""The GAN-free applications of learned upsampling and the course's MNIST judge (lessons 06–09)."""

"""The datasets: offline mirrors, torchvision downloads, the seeded split, the prepared tensors."""

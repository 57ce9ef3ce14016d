//! vaecam: visually explaining variational autoencoders.

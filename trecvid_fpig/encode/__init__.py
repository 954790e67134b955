"""Encode: trained checkpoints (F-Pig, CLIP4Clip, TeachCLIP, open_clip) -> L2-normalised topic
features (text towers) and shot features (video towers)."""

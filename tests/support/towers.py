"""A tiny Hugging Face CLIP with heads not 64 wide, the independent reference of the tower tests."""
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

def perturb(module: "torch.nn.Module", seed: int) -> None:
    """Move every weight off its default init (unit LayerNorms, zero biases test nothing)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * 0.05)


def tiny_hf_clip(seed: int, text: dict, vision: dict, projection_dim: int
                 ) -> "transformers.CLIPModel":
    """A perturbed Hugging Face ``CLIPModel`` of the sizes in `text` and `vision`, with the
    CLIP tokenizer's vocabulary and special tokens and, unless they say otherwise, QuickGELU,
    as OpenAI's CLIP."""
    config = transformers.CLIPConfig(
        text_config={"vocab_size": 49408, "max_position_embeddings": 77,
                     "hidden_act": "quick_gelu", "bos_token_id": 49406, "eos_token_id": 49407,
                     "pad_token_id": 0, **text},
        vision_config={"hidden_act": "quick_gelu", **vision}, projection_dim=projection_dim)
    torch.manual_seed(seed)
    model = transformers.CLIPModel(config).eval()
    perturb(model, seed)
    return model

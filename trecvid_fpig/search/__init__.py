"""Search: precomputed shot-feature stores and streamed top-k scoring of topics against them."""

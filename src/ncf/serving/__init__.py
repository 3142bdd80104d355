"""Serving trained models: retrieval (exact top-k, faiss), the HTTP app and its page."""

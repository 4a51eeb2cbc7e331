"""RenderHub: self-hosted remote rendering that speaks Azure Remote Rendering's session API."""

__version__ = "0.1.0"

"""The scene runtime: what a connected client does to the session's scene after it connects.

The host owns the scene (`model.SceneModel`: entities, their transforms and states, cut
planes, ray casts); `messages` parses what the client sends (docs/scene-protocol.md) and the
runtime answers every request with one reply or one error.
"""

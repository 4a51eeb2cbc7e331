"""Prometheus metrics of the control plane: what it measures as sessions come and go
(`control_plane`), what it reads from the store at each scrape (`store_figures`), the render
hosts' own metrics gathered through it (`hosts`), and several API workers sharing their
figures (`workers`)."""

"""One module per GATT characteristic: its measurement model, decoder and encoder."""

"""Evolution API v2 channel: WhatsApp numbers linked by QR code."""

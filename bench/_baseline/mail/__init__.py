"""Pure mail handling: parsing, HTML to text, sanitising, code and link extraction. No I/O."""

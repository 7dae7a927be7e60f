"""Exemption service: Due-diligence exemption determination, from case to provincial joint determination (EXE-*)."""

"""Transformation performance (M 十三): indicators per unit, department, researcher and technology manager."""

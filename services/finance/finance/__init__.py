"""Finance service: Income, rewards, invest-first-equity-later funds, horizontal-fund investments, subsidies, receivables (FIN-*)."""

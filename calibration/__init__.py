"""Calibration: fitting a scenario to a collaborative's patient-level extract.

An extract of referrals and spells (:mod:`calibration.extract`) is checked row by row;
referral rates (:mod:`calibration.rates`), lengths of stay and delays
(:mod:`calibration.survival`) and routing shares (:mod:`calibration.fitting`) are
fitted with confidence intervals; the census of patients in the system at the extract
date is taken from it (:mod:`calibration.census`); the fitted scenario, which extends
the base, is written with every value's evidence (:mod:`calibration.writer`); and the
fitted model is run over the extract's period and compared with it
(:mod:`calibration.backtest`, :mod:`calibration.report`). ``pathways calibrate`` runs
it all (:mod:`simulation.cli.calibrate`); :mod:`calibration.synthetic` makes extracts whose
truth is known. Scenarios are read only through :mod:`simulation`'s public loading.
"""

-- pipelens version 32: the lost amount per rep, month and deal dimension value
-- (issue 11). The win rate by rep under one product, source, segment or
-- territory filter read every close of the range from opp_closes (a year at the
-- large sample: 1.19M rows, 5.6-7.6x the medium sample's time for 32x the data);
-- rep_dim_months holds the won and lost deals and the won amount of its whole
-- months, not the lost amount the amount-weighted win rate needs. Serving
-- version 23 rebuilds it.
ALTER TABLE rep_dim_months ADD COLUMN lost_amount Float64;

package detect

// The NAB protocol of pipelens (see README, "NAB"): the detectors' settings
// may be chosen by looking at the tuning half of NAB's 58 files only; the
// report half is never looked at while tuning. Both halves are fixed here,
// before any measurement: NAB's files sorted by path, alternately one to each
// half (so each category is split about evenly). bench nab reports the tuning
// half with the threshold its sweep picks, then the report half and all files
// at that threshold.

// NABTuneFiles is the half of NAB's corpus the detectors may be tuned on.
var NABTuneFiles = []string{
	"artificialNoAnomaly/art_daily_no_noise.csv",
	"artificialNoAnomaly/art_daily_small_noise.csv",
	"artificialNoAnomaly/art_noisy.csv",
	"artificialWithAnomaly/art_daily_jumpsdown.csv",
	"artificialWithAnomaly/art_daily_nojump.csv",
	"artificialWithAnomaly/art_load_balancer_spikes.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv",
	"realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv",
	"realAWSCloudwatch/ec2_network_in_5abac7.csv",
	"realAWSCloudwatch/grok_asg_anomaly.csv",
	"realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
	"realAdExchange/exchange-2_cpc_results.csv",
	"realAdExchange/exchange-3_cpc_results.csv",
	"realAdExchange/exchange-4_cpc_results.csv",
	"realKnownCause/ambient_temperature_system_failure.csv",
	"realKnownCause/ec2_request_latency_system_failure.csv",
	"realKnownCause/nyc_taxi.csv",
	"realKnownCause/rogue_agent_key_updown.csv",
	"realTraffic/TravelTime_451.csv",
	"realTraffic/occupancy_t4013.csv",
	"realTraffic/speed_7578.csv",
	"realTweets/Twitter_volume_AAPL.csv",
	"realTweets/Twitter_volume_CRM.csv",
	"realTweets/Twitter_volume_FB.csv",
	"realTweets/Twitter_volume_IBM.csv",
	"realTweets/Twitter_volume_PFE.csv",
}

// NABReportFiles is the half of NAB's corpus that is only ever reported.
var NABReportFiles = []string{
	"artificialNoAnomaly/art_daily_perfect_square_wave.csv",
	"artificialNoAnomaly/art_flatline.csv",
	"artificialWithAnomaly/art_daily_flatmiddle.csv",
	"artificialWithAnomaly/art_daily_jumpsup.csv",
	"artificialWithAnomaly/art_increase_spike_density.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv",
	"realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv",
	"realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv",
	"realAWSCloudwatch/ec2_network_in_257a54.csv",
	"realAWSCloudwatch/elb_request_count_8c0756.csv",
	"realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
	"realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
	"realAdExchange/exchange-2_cpm_results.csv",
	"realAdExchange/exchange-3_cpm_results.csv",
	"realAdExchange/exchange-4_cpm_results.csv",
	"realKnownCause/cpu_utilization_asg_misconfiguration.csv",
	"realKnownCause/machine_temperature_system_failure.csv",
	"realKnownCause/rogue_agent_key_hold.csv",
	"realTraffic/TravelTime_387.csv",
	"realTraffic/occupancy_6005.csv",
	"realTraffic/speed_6005.csv",
	"realTraffic/speed_t4013.csv",
	"realTweets/Twitter_volume_AMZN.csv",
	"realTweets/Twitter_volume_CVS.csv",
	"realTweets/Twitter_volume_GOOG.csv",
	"realTweets/Twitter_volume_KO.csv",
	"realTweets/Twitter_volume_UPS.csv",
}

// NABHalf says which half of the protocol a corpus path belongs to: "tune",
// "report", or "" for a file that is not one of NAB's.
func NABHalf(path string) string {
	for _, p := range NABTuneFiles {
		if p == path {
			return "tune"
		}
	}
	for _, p := range NABReportFiles {
		if p == path {
			return "report"
		}
	}
	return ""
}

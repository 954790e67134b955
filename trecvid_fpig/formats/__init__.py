"""Every file format the toolkit reads or writes, in one place: topics, the shipped data and shot-id
lists, qrels, TREC runs and NIST's AVS XML, query features, feature files, and the feature store
with its manifest. Readers collect or raise one clear error naming the file and line."""
